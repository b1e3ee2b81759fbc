/**
 * `exportTables`: verified NDJSON → Parquet, in three steps per resource type, each a streaming DuckDB COPY:
 *   1. stage: the new runs' files → `raw_<type>` rows (fixed nested schema, plus where each row came from), checking
 *      that the rows read equal the manifests' verified counts;
 *   2. merge: with the tables folder's existing raw table, one row per resource id, the latest `meta.lastUpdated`
 *      winning (then the later run, then the newer read), less the rows that the new runs' Bulk Data 2.0 deletions
 *      remove (deletions.ts); skipped when there is nothing to merge or delete and no id repeats;
 *   3. flat tables (patients, coverage, claims, claim_lines, diagnoses, procedures) from the merged raw tables.
 * Files are written in `<tables>/.staging/` (0700, spill files too) and renamed into place owner-only; `tables.json`
 * is written last and records the runs read, so a rerun reads only new runs and a crash before it re-reads them
 * (harmless: merging is idempotent).
 */
import { chmod, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DpcError } from '../errors.js';
import { commitFile, ensurePrivateDir, FILE_MODE, io, readTextIfExists, writeOwnerOnly } from '../fs.js';
import { acquireLock } from '../export/lock.js';
import { loadEngine, openEngine, type Connection, type EngineOptions } from './engine.js';
import { FLAT_TABLES, flatTableSql, MACROS } from './flat.js';
import { columnsArgument, MAX_JSON_LINE_BYTES, RAW_SCHEMAS, rawTableName, sqlString } from './schema.js';
import { stageDeletions, withoutDeleted } from './deletions.js';
import { findSources, type ExcludedFile, type SourceFile, type SourceRun } from './sources.js';

/** Where `exportTables` writes when no `outDir` is given: `<dir>/tables`. */
export const DEFAULT_TABLES_DIR = 'tables';
export const TABLES_LEDGER = 'tables.json';
const LEDGER_FORMAT = 'dpc-tables/1';
const STAGING_DIR = '.staging';
/** The raw table of a type without a fixed schema: its id and the whole resource. */
const GENERIC_COLUMNS = { id: 'VARCHAR', resource: 'JSON' };

export interface TableInfo {
  name: string;
  /** File name inside the tables folder. */
  file: string;
  rows: number;
  /** `flat` tables have documented columns; `raw` tables hold whole resources of one type. */
  kind: 'flat' | 'raw';
}

export interface TablesRun {
  label: string;
  run: string;
  npi?: string;
  manifestSha256: string;
  transactionTime: string;
  files: number;
  resources: number;
}

export type TablesEvent =
  | { type: 'tables_staged'; resourceType: string; files: number; resources: number }
  /** Bulk Data 2.0 deleted files read: `deletions` resources they delete. */
  | { type: 'deletions_staged'; files: number; deletions: number }
  | { type: 'table_written'; table: string; rows: number };

export interface ExportTablesOptions extends EngineOptions {
  /** Tables folder (default `<dir>/tables`). */
  outDir?: string;
  onEvent?: (event: TablesEvent) => void;
}

export interface ExportTablesResult {
  /** The export folder read. */
  dir: string;
  tablesDir: string;
  /** Nothing new to read: the tables were left as they were. */
  upToDate: boolean;
  /** Runs read by this call. */
  added: TablesRun[];
  /** Every run the tables hold. */
  runs: TablesRun[];
  /** Files not read: not verified, changed or missing since they verified. */
  excluded: ExcludedFile[];
  tables: TableInfo[];
}

interface Ledger {
  format: typeof LEDGER_FORMAT;
  builtAt: string;
  runs: TablesRun[];
  tables: TableInfo[];
}

export async function exportTables(dir: string, options: ExportTablesOptions = {}): Promise<ExportTablesResult> {
  const sources = await findSources(dir);
  await loadEngine(options.engineModule); // before anything is written: a missing engine changes nothing
  const tablesDir = resolve(options.outDir ?? join(dir, DEFAULT_TABLES_DIR));
  await ensurePrivateDir(tablesDir);
  const lock = await acquireLock(tablesDir);
  try {
    const ledger = await readLedger(tablesDir);
    const known = new Set((ledger?.runs ?? []).map(runKey));
    const pending = sources.runs.filter((run) => !known.has(runKey(run)));
    const base = { dir: resolve(dir), tablesDir, excluded: sources.excluded };
    if (ledger && pending.length === 0 && (await allExist(tablesDir, ledger.tables))) {
      return { ...base, upToDate: true, added: [], runs: ledger.runs, tables: ledger.tables };
    }
    const added = pending.map(summariseRun);
    const runs = [...(ledger?.runs ?? []).filter((old) => !pending.some((p) => sameRun(p, old))), ...added];
    const tables = await build(tablesDir, pending, ledger?.tables ?? [], options);
    await writeOwnerOnly(join(tablesDir, TABLES_LEDGER), `${JSON.stringify({ format: LEDGER_FORMAT, builtAt: new Date().toISOString(), runs, tables } satisfies Ledger, null, 2)}\n`);
    return { ...base, upToDate: false, added, runs, tables };
  } finally {
    await lock.release();
  }
}

async function build(tablesDir: string, pending: readonly SourceRun[], previous: readonly TableInfo[], options: ExportTablesOptions): Promise<TableInfo[]> {
  const staging = join(tablesDir, STAGING_DIR);
  await io(staging, 'clear', () => rm(staging, { recursive: true, force: true }));
  await ensurePrivateDir(join(staging, 'spill'));
  const db = await openEngine({ ...options, tempDir: join(staging, 'spill') });
  try {
    for (const macro of MACROS) await db.run(macro);
    const raw = new Map(previous.filter((t) => t.kind === 'raw').map((t) => [t.name, t]));
    const deletionsFile = join(staging, 'deleted.parquet');
    const deletions = await stageDeletions(db, pending, deletionsFile);
    const deletedFiles = pending.reduce((n, run) => n + run.deleted.length, 0);
    if (deletedFiles > 0) options.onEvent?.({ type: 'deletions_staged', files: deletedFiles, deletions: [...deletions.values()].reduce((a, b) => a + b, 0) });
    // deletions of a type the tables do not hold have nothing to remove
    const deletedTypes = [...deletions.keys()].filter((type) => raw.has(rawTableName(type)));
    const types = [...new Set([...Object.keys(RAW_SCHEMAS), ...pending.flatMap((r) => r.files.map((f) => f.type)), ...deletedTypes])];
    for (const type of types) {
      const name = rawTableName(type);
      const files = pending.flatMap((run) => run.files.filter((f) => f.type === type).map((file) => ({ file, run })));
      if (files.length === 0 && raw.has(name) && !deletions.has(type)) continue; // nothing new for this type
      const staged = join(staging, `${name}.new.parquet`);
      const resources = await stage(db, type, files, staged);
      options.onEvent?.({ type: 'tables_staged', resourceType: type, files: files.length, resources });
      const existing = raw.has(name) ? join(tablesDir, raw.get(name)!.file) : undefined;
      const deleting = deletions.has(type) ? { type, file: deletionsFile } : undefined;
      const rows = await merge(db, existing, staged, resources, join(staging, `${name}.parquet`), deleting);
      raw.set(name, await publish(staging, tablesDir, { name, file: `${name}.parquet`, rows, kind: 'raw' }));
      options.onEvent?.({ type: 'table_written', table: name, rows });
    }
    const flat: TableInfo[] = [];
    for (const table of FLAT_TABLES) {
      const source = `read_parquet(${sqlString(join(tablesDir, raw.get(rawTableName(table.from))!.file))})`;
      const rows = await copyTo(db, flatTableSql(table, source), join(staging, `${table.name}.parquet`));
      flat.push(await publish(staging, tablesDir, { name: table.name, file: `${table.name}.parquet`, rows, kind: 'flat' }));
      options.onEvent?.({ type: 'table_written', table: table.name, rows });
    }
    return [...flat, ...[...raw.values()].sort((a, b) => a.name.localeCompare(b.name))];
  } finally {
    db.close();
    await rm(staging, { recursive: true, force: true });
  }
}

/** Step 1: read the files of one type into a Parquet file; the rows read must equal the verified counts. */
async function stage(db: Connection, type: string, files: readonly { file: SourceFile; run: SourceRun }[], target: string): Promise<number> {
  const expected = files.reduce((sum, f) => sum + f.file.count, 0);
  const schema = RAW_SCHEMAS[type];
  let select: string;
  if (files.length === 0) {
    // a type the export did not include (or that only deletions touch): an empty table with the full schema, so
    // queries still bind
    select = `SELECT ${Object.entries(schema ?? GENERIC_COLUMNS).map(([column, t]) => `NULL::${t} AS "${column}"`).join(', ')}, NULL::VARCHAR AS source_group, NULL::VARCHAR AS source_npi, NULL::VARCHAR AS source_run, NULL::TIMESTAMPTZ AS last_updated LIMIT 0`;
  } else {
    // one scan per run with its provenance as constants: a join on the file name made DuckDB hash the whole input
    const runs = [...new Set(files.map((f) => f.run))];
    select = runs
      .map((run) => {
        const list = `[${files.filter((f) => f.run === run).map((f) => sqlString(f.file.path)).join(', ')}]`;
        const provenance = `${sqlString(run.label)} AS source_group, ${run.npi ? sqlString(run.npi) : 'NULL::VARCHAR'} AS source_npi, ${sqlString(run.run)} AS source_run`;
        return schema
          ? `SELECT j.*, ${provenance}, TRY_CAST(j.meta.lastUpdated AS TIMESTAMPTZ) AS last_updated
             FROM read_json(${list}, format = 'newline_delimited', columns = ${columnsArgument(schema)}, maximum_object_size = ${MAX_JSON_LINE_BYTES}) j`
          : // other resource types (generic Bulk Data servers): id, the whole resource as JSON, provenance, lastUpdated
            `SELECT j.json->>'id' AS id, j.json AS resource, ${provenance}, TRY_CAST(j.json->'meta'->>'lastUpdated' AS TIMESTAMPTZ) AS last_updated
             FROM read_ndjson_objects(${list}, maximum_object_size = ${MAX_JSON_LINE_BYTES}) j`;
      })
      .join('\nUNION ALL\n');
  }
  const rows = await copyTo(db, select, target);
  if (rows !== expected) {
    throw new DpcError('ERR_INTEGRITY', `${type}: read ${rows} resources from ${files.length} file(s) whose manifests verified ${expected}`, { location: files[0]?.file.path });
  }
  return rows;
}

/**
 * Step 2: one row per id across the existing table and the staged rows, less the rows `deleting` (this type's staged
 * deletions) removes; returns the rows kept.
 */
async function merge(db: Connection, existing: string | undefined, staged: string, stagedRows: number, target: string, deleting?: { type: string; file: string }): Promise<number> {
  const inputs = existing ? [existing, staged] : [staged];
  const read = `read_parquet([${inputs.map(sqlString).join(', ')}], union_by_name = true, filename = true, file_row_number = true)`;
  if (!existing && !deleting) {
    const { rows } = await db.all(`SELECT count(DISTINCT id) FROM read_parquet(${sqlString(staged)})`);
    if (Number(rows[0]?.[0]) === stagedRows) {
      await io(target, 'rename', () => rename(staged, target));
      return stagedRows;
    }
  }
  const merged = `SELECT * EXCLUDE (filename, file_row_number) FROM ${read}
     QUALIFY row_number() OVER (PARTITION BY id ORDER BY last_updated DESC NULLS LAST, source_run DESC NULLS LAST, filename = ${sqlString(staged)} DESC, file_row_number DESC) = 1`;
  return copyTo(db, deleting ? withoutDeleted(merged, deleting.type, deleting.file) : merged, target);
}

/**
 * COPY a query to a Parquet file; returns the rows written. Row groups are cut at 64 MB of DuckDB memory: by rows
 * alone (122,880) a row group of claims is gigabytes, buffered whole, and spills.
 */
async function copyTo(db: Connection, select: string, target: string): Promise<number> {
  const { rows } = await db.all(`COPY (${select}) TO ${sqlString(target)} (FORMAT parquet, ROW_GROUP_SIZE_BYTES '64MB')`);
  return Number(rows[0]?.[0] ?? 0);
}

/** Owner-only, then renamed over the previous version in the tables folder. */
async function publish(staging: string, tablesDir: string, table: TableInfo): Promise<TableInfo> {
  const from = join(staging, table.file);
  const to = join(tablesDir, table.file);
  await io(from, 'write table', () => chmod(from, FILE_MODE));
  await commitFile(from, to);
  return table;
}

/** The tables folder's tables.json, undefined when it has none yet. */
export async function readLedger(tablesDir: string): Promise<Ledger | undefined> {
  const path = join(tablesDir, TABLES_LEDGER);
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : parseLedger(text, path);
}

/** tables.json is read back as untrusted input: every file name it gives must stay inside the tables folder. Pure. */
export function parseLedger(text: string, path: string): Ledger {
  let ledger: Partial<Ledger> | undefined;
  try {
    ledger = JSON.parse(text) as Partial<Ledger>;
  } catch {
    ledger = undefined;
  }
  const validTable = (t: TableInfo) => typeof t?.name === 'string' && typeof t.file === 'string' && /^[a-z0-9_]+\.parquet$/.test(t.file) && typeof t.rows === 'number';
  if (ledger?.format !== LEDGER_FORMAT || !Array.isArray(ledger.runs) || !Array.isArray(ledger.tables) || !ledger.tables.every(validTable)) {
    throw new DpcError('ERR_INPUT', `${path} is not a ${LEDGER_FORMAT} tables file`, { location: path });
  }
  return ledger as Ledger;
}

async function allExist(tablesDir: string, tables: readonly TableInfo[]): Promise<boolean> {
  const found = await Promise.all(tables.map((t) => stat(join(tablesDir, t.file)).then(() => true, () => false)));
  return found.every(Boolean);
}

function runKey(run: Pick<SourceRun, 'label' | 'run' | 'manifestSha256'>): string {
  return `${run.label}/${run.run}/${run.manifestSha256}`;
}

function sameRun(a: Pick<SourceRun, 'label' | 'run'>, b: Pick<SourceRun, 'label' | 'run'>): boolean {
  return a.label === b.label && a.run === b.run;
}

function summariseRun(run: SourceRun): TablesRun {
  return {
    label: run.label,
    run: run.run,
    ...(run.npi ? { npi: run.npi } : {}),
    manifestSha256: run.manifestSha256,
    transactionTime: run.transactionTime,
    files: run.files.length,
    resources: run.files.reduce((sum, f) => sum + f.count, 0),
  };
}
