/** Claims as tables: verified exports → Parquet (`exportTables`) and SQL over them (`queryExport`), on DuckDB. */
export { exportTables, DEFAULT_TABLES_DIR, TABLES_LEDGER } from './build.js';
export type { ExportTablesOptions, ExportTablesResult, TableInfo, TablesEvent, TablesRun } from './build.js';
export { queryExport } from './query.js';
export type { QueryColumn, QueryOptions, QueryResult, QueryValue } from './query.js';
export type { EngineOptions } from './engine.js';
export type { ExcludedFile } from './sources.js';
export { FLAT_TABLES } from './flat.js';
export type { FlatColumn, FlatTable } from './flat.js';
