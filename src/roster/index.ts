/** Roster files, sync plans and the 90-day re-attribution. */
export * from './roster-file.js';
export { parseCsv, type CsvRecord } from './csv.js';
export * from './plan.js';
export * from './apply.js';
export * from './sync.js';
export * from './expiry.js';
export * from './renew.js';
