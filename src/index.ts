/** dpc-client: the library. The `dpc` CLI (src/cli) is a thin layer over these exports. */
export { VERSION } from './version.js';
export * from './errors.js';
export { redact, redactUrl, Redactor } from './redact.js';
export * from './transport/index.js';
export * from './client.js';
export * from './auth/index.js';
export * from './export/index.js';
export * from './fhir/index.js';
export * from './roster/index.js';
