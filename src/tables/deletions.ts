/**
 * Bulk Data 2.0 deletions in the tables. An incremental (`_since`) export lists the resources deleted since then in
 * `deleted` files: one Bundle per line whose entries are `request: { method: 'DELETE', url: 'Patient/123' }`. They
 * are staged as one row per deleted resource, dated by their run's transactionTime (the server deleted it before
 * then), and remove a merged row that is older: one whose `meta.lastUpdated` is before that time or, without a
 * `meta.lastUpdated`, one from that run or an earlier one.
 */
import { DpcError } from '../errors.js';
import { serverText } from '../transport/error-body.js';
import type { Connection } from './engine.js';
import { columnsArgument, MAX_JSON_LINE_BYTES, sqlString } from './schema.js';
import type { SourceFile, SourceRun } from './sources.js';

/** `Patient/123`, or an absolute URL ending so: the resource type and a FHIR id. */
const DELETED_URL = '^(?:.*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9.-]{1,64})$';
const BUNDLE_COLUMNS = { entry: 'STRUCT(request STRUCT("method" VARCHAR, url VARCHAR))[]' };

/**
 * Read the runs' deleted files into a Parquet file (type, id, deleted_at, source_run); returns the deletions by
 * resource type. An entry that is not a DELETE of `Type/id` is an error naming its file: nothing is half-applied.
 */
export async function stageDeletions(db: Connection, runs: readonly SourceRun[], target: string): Promise<Map<string, number>> {
  const scans = runs
    .filter((run) => run.deleted.length > 0)
    .map((run) => {
      const list = `[${run.deleted.map((f: SourceFile) => sqlString(f.path)).join(', ')}]`;
      return `SELECT unnest(entry) AS e, filename, ${sqlString(run.run)} AS source_run, TRY_CAST(${sqlString(run.transactionTime)} AS TIMESTAMPTZ) AS deleted_at
              FROM read_json(${list}, format = 'newline_delimited', columns = ${columnsArgument(BUNDLE_COLUMNS)}, filename = true, maximum_object_size = ${MAX_JSON_LINE_BYTES})`;
    });
  if (scans.length === 0) return new Map();
  const entries = `SELECT regexp_extract(e.request.url, ${sqlString(DELETED_URL)}, 1) AS type, regexp_extract(e.request.url, ${sqlString(DELETED_URL)}, 2) AS id,
                          e.request."method" AS "method", e.request.url AS url, filename, source_run, deleted_at
                   FROM (${scans.join('\nUNION ALL\n')})`;
  await db.run(`COPY (${entries}) TO ${sqlString(target)} (FORMAT parquet)`);
  const staged = `read_parquet(${sqlString(target)})`;
  const bad = await db.all(`SELECT filename, url FROM ${staged} WHERE "method" IS DISTINCT FROM 'DELETE' OR type = '' LIMIT 1`);
  if (bad.rows.length > 0) {
    const [file, url] = bad.rows[0] as [string, string | null];
    throw new DpcError('ERR_INPUT', `${file}: a deleted Bundle entry is not a DELETE of Type/id (request.url ${url === null ? 'missing' : `"${serverText(url)}"`})`, { location: file });
  }
  const { rows } = await db.all(`SELECT type, count(*) FROM ${staged} GROUP BY type`);
  return new Map(rows.map(([type, count]) => [String(type), Number(count)]));
}

/** `merged` (a query of one type's rows) without the rows its staged deletions remove. Pure. */
export function withoutDeleted(merged: string, type: string, deletions: string): string {
  return `SELECT m.* FROM (${merged}) m
          WHERE NOT EXISTS (SELECT 1 FROM read_parquet(${sqlString(deletions)}) d
                            WHERE d.type = ${sqlString(type)} AND d.id = m.id
                              AND (m.last_updated < d.deleted_at OR (m.last_updated IS NULL AND m.source_run <= d.source_run)))`;
}
