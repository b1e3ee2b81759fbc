/**
 * The embedded engine: DuckDB through its official Node package, an optional dependency loaded here only (dynamic
 * import), so no other command pays for it and an install without it still works. One in-memory database per call,
 * with a memory limit and a thread count so a large export neither exhausts RAM nor takes every core, and spill files
 * in an owner-only folder (they hold PHI).
 */
import { availableParallelism, totalmem } from 'node:os';
import { DpcError } from '../errors.js';

/** The module that provides DuckDB; `engineModule` options override it (tests name a module that does not exist). */
export const ENGINE_MODULE = '@duckdb/node-api';

export interface EngineOptions {
  /** DuckDB `memory_limit` in bytes (default: a quarter of RAM, at most 2 GiB). */
  memoryLimitBytes?: number;
  /** DuckDB worker threads (default: the available cores, at most 4). */
  threads?: number;
  /** Module to load DuckDB from (default `@duckdb/node-api`). */
  engineModule?: string;
}

const GiB = 1024 ** 3;

/** Default memory limit: a quarter of RAM, between 256 MiB and 2 GiB. Pure apart from reading the RAM size. */
export function defaultMemoryLimit(ram = totalmem()): number {
  return Math.max(256 * 1024 ** 2, Math.min(2 * GiB, Math.floor(ram / 4)));
}

/** What this module needs from a DuckDB connection; keeps DuckDB's types out of the public API. */
export interface Connection {
  run(sql: string): Promise<unknown>;
  /** Rows as JSON-safe values (DECIMAL and BIGINT as strings, DATE as `YYYY-MM-DD`). */
  all(sql: string): Promise<{ columns: { name: string; type: string }[]; rows: unknown[][] }>;
  /** Streams rows in batches; returns the columns before the first batch. */
  stream(sql: string, onColumns: (columns: { name: string; type: string }[]) => void, onRows: (rows: unknown[][]) => void | Promise<void>): Promise<void>;
  close(): void;
}

interface DuckDBModule {
  DuckDBInstance: { create(path: string, options: Record<string, string>): Promise<DuckDBInstanceLike> };
}
interface DuckDBInstanceLike {
  connect(): Promise<DuckDBConnectionLike>;
  closeSync(): void;
}
interface ResultLike {
  columnNames(): string[];
  columnTypes(): { toString(): string }[];
}
interface DuckDBConnectionLike {
  run(sql: string): Promise<unknown>;
  runAndReadAll(sql: string): Promise<ResultLike & { getRowsJson(): unknown[][] }>;
  stream(sql: string): Promise<ResultLike & { yieldRowsJson(): AsyncIterable<unknown[][]> }>;
  closeSync(): void;
}

/** Import DuckDB, or a one-line ERR_ENGINE saying how to install it. */
export async function loadEngine(module = ENGINE_MODULE): Promise<DuckDBModule> {
  try {
    return (await import(module)) as DuckDBModule;
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `failed to load (${firstLine((cause as Error).message)})`;
    throw new DpcError('ERR_ENGINE', `the table engine ${module} ${why}; install it with \`npm install ${ENGINE_MODULE}\` (an optional dependency of dpc-client)`, { cause });
  }
}

/** Open an in-memory database with the limits set; `tempDir` must be an owner-only folder. */
export async function openEngine(options: EngineOptions & { tempDir?: string }): Promise<Connection> {
  const duckdb = await loadEngine(options.engineModule);
  const settings: Record<string, string> = {
    memory_limit: `${Math.floor((options.memoryLimitBytes ?? defaultMemoryLimit()) / 1024 ** 2)}MiB`,
    threads: String(options.threads ?? Math.min(4, availableParallelism())),
    // no row order to keep across a big load: lets DuckDB stream with less memory
    preserve_insertion_order: 'false',
    // never fetch extensions over the network (JSON and Parquet are built in)
    autoinstall_known_extensions: 'false',
    ...(options.tempDir ? { temp_directory: options.tempDir } : {}),
  };
  const instance = await duckdb.DuckDBInstance.create(':memory:', settings).catch((cause: unknown) => {
    throw new DpcError('ERR_ENGINE', `cannot start DuckDB: ${firstLine((cause as Error).message)}`, { cause });
  });
  const connection = await instance.connect();
  const columnsOf = (result: ResultLike) => {
    const types = result.columnTypes();
    return result.columnNames().map((name, i) => ({ name, type: String(types[i]) }));
  };
  const wrap = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (cause) {
      throw sqlError(cause);
    }
  };
  return {
    run: (sql) => wrap(() => connection.run(sql)),
    all: (sql) =>
      wrap(async () => {
        const result = await connection.runAndReadAll(sql);
        return { columns: columnsOf(result), rows: result.getRowsJson() };
      }),
    stream: (sql, onColumns, onRows) =>
      wrap(async () => {
        const result = await connection.stream(sql);
        onColumns(columnsOf(result));
        for await (const rows of result.yieldRowsJson()) await onRows(rows);
      }),
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** DuckDB's error as a one-line DpcError: the message's first line (`Binder Error: …`), not its hints or the SQL. */
function sqlError(cause: unknown): DpcError {
  if (cause instanceof DpcError) return cause;
  return new DpcError('ERR_QUERY', firstLine((cause as Error).message ?? String(cause)), { cause });
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text;
}
