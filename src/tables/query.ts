/**
 * `queryExport`: SQL over the tables, each Parquet file a view of its table's name. `<dir>` is a tables folder (it has
 * tables.json) or an export folder, whose tables are built or refreshed first in their default place.
 */
import { join, resolve } from 'node:path';
import { exportTables, readLedger, type ExportTablesOptions, type ExportTablesResult, type TableInfo } from './build.js';
import { openEngine } from './engine.js';
import { sqlIdentifier, sqlString } from './schema.js';

export interface QueryColumn {
  name: string;
  /** DuckDB type, e.g. `VARCHAR`, `DATE`, `DECIMAL(18,2)`, `BIGINT`. */
  type: string;
}

/**
 * A value as JSON: DECIMAL, BIGINT and HUGEINT as exact decimal strings, DATE as `YYYY-MM-DD`, TIMESTAMP WITH TIME
 * ZONE as `YYYY-MM-DD hh:mm:ss+00`, lists and structs as arrays and objects.
 */
export type QueryValue = null | boolean | number | string | QueryValue[] | { [key: string]: QueryValue };

export interface QueryOptions extends ExportTablesOptions {
  /** Receive rows in batches instead of collecting them in `rows` (for large results). */
  onRows?: (rows: QueryValue[][], columns: QueryColumn[]) => void | Promise<void>;
}

export interface QueryResult {
  columns: QueryColumn[];
  /** Every row, unless `onRows` took them. */
  rows: QueryValue[][];
  rowCount: number;
  tablesDir: string;
  /** Set when `dir` was an export folder and its tables were built or refreshed first. */
  refreshed?: ExportTablesResult;
}

export async function queryExport(dir: string, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  let tablesDir = resolve(dir);
  let refreshed: ExportTablesResult | undefined;
  let tables = (await readLedger(tablesDir))?.tables;
  if (!tables) {
    refreshed = await exportTables(dir, options);
    tablesDir = refreshed.tablesDir;
    tables = refreshed.tables;
  }
  const db = await openEngine(options);
  try {
    for (const table of tables) await db.run(viewSql(tablesDir, table));
    const result: QueryResult = { columns: [], rows: [], rowCount: 0, tablesDir, ...(refreshed ? { refreshed } : {}) };
    await db.stream(
      sql,
      (columns) => void (result.columns = columns),
      async (rows) => {
        result.rowCount += rows.length;
        if (options.onRows) await options.onRows(rows as QueryValue[][], result.columns);
        else result.rows.push(...(rows as QueryValue[][]));
      },
    );
    return result;
  } finally {
    db.close();
  }
}

/** Pure. */
export function viewSql(tablesDir: string, table: TableInfo): string {
  return `CREATE VIEW ${sqlIdentifier(table.name)} AS SELECT * FROM read_parquet(${sqlString(join(tablesDir, table.file))})`;
}
