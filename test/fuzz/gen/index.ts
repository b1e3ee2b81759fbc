/** Deterministic generators of malformed input for the fuzz tests, one module per kind of file. */
export * from './common.js';
export { rosterCase } from './roster.js';
export { bundleCase } from './bundles.js';
export { pemCase, type PemSources } from './pem.js';
export { configCase } from './config.js';
export { completionCase, manifestCase, stateCase } from './export.js';
