/** `dpc demo` as a library: the whole DPC journey on an embedded sandbox, reported step by step. */
export { runDemo, DEMO_EXPORT_TYPES, type DemoOptions } from './journey.js';
export { DEMO_STEPS, countRows, largestGroup, exportedFiles, formatBytes } from './summary.js';
export type { DemoStep, DemoStepName, DemoSummary, DemoKey, DemoFile } from './summary.js';
export { prepareDemoDir, makeDemoKey, type DemoKeyPair } from './files.js';
