/**
 * `dpc export tables <dir>` and `dpc query <dir> "<SQL>"` (src/tables). Both load DuckDB, an optional dependency,
 * only inside their handlers, so every other command starts as fast as before.
 */
import type { Argv, CommandModule } from 'yargs';
import { DpcError } from '../../errors.js';
import { plural } from '../../plural.js';
import { redact } from '../../redact.js';
import type { ExportTablesResult, QueryColumn, QueryValue, TablesEvent } from '../../tables/index.js';
import { outputFor, type GlobalArgs } from '../context.js';
import { cliProcess } from '../cli-process.js';
import { jsonForTerminal } from '../../escape.js';
import { formatTable, type Output } from '../output.js';
import { positiveInt } from '../flag-values.js';
import { parseSize } from '../size.js';

interface EngineArgs extends GlobalArgs {
  memoryLimit?: string;
  threads?: number;
}

interface TablesArgs extends EngineArgs {
  dir: string;
  out?: string;
}

interface QueryArgs extends EngineArgs {
  dir: string;
  sql: string;
  csv: boolean;
}

const ENGINE_MODULE_ENV = 'DPC_DUCKDB_MODULE';

function engineOptions(argv: EngineArgs): { memoryLimitBytes?: number; threads?: number; engineModule?: string } {
  const options: { memoryLimitBytes?: number; threads?: number; engineModule?: string } = {};
  if (argv.memoryLimit !== undefined) options.memoryLimitBytes = parseSize(argv.memoryLimit, 'memoryLimitBytes', 64 * 1024 ** 2);
  if (argv.threads !== undefined) options.threads = positiveInt(argv.threads, '--threads');
  // where DuckDB is loaded from: for an engine installed elsewhere (and for tests of a missing engine)
  const module = cliProcess().env[ENGINE_MODULE_ENV];
  if (module) options.engineModule = module;
  return options;
}

const engineFlags = <T>(y: Argv<T>): Argv<T> =>
  y
    .option('memory-limit', { type: 'string', describe: 'DuckDB memory limit, e.g. 1GB (default: a quarter of RAM, at most 2GB)' })
    .option('threads', { type: 'number', describe: 'DuckDB threads (default: the cores, at most 4)' }) as Argv<T>;

export const tablesCommand: CommandModule<GlobalArgs, TablesArgs> = {
  command: 'tables <dir>',
  describe: 'Write the verified files of an export as Parquet tables (patients, coverage, claims, claim_lines, diagnoses, procedures, raw_*)',
  builder: (y) =>
    engineFlags(
      (y as Argv<GlobalArgs>)
        .positional('dir', { type: 'string', demandOption: true, describe: 'Run folder, group folder (its LATEST run) or --all-groups output folder' })
        .option('out', { type: 'string', describe: 'Tables folder (default <dir>/tables); rerun to add newer runs' }),
    )
      .example('$0 export tables exports', 'tables of every group\'s latest run, in exports/tables')
      .example('$0 export tables exports/1234329724 --out claims', 'one group, into ./claims')
      .epilogue('Only files that verified (manifest.json) are read; one row per resource id, the latest meta.lastUpdated winning. Columns: README "Claims as tables".') as unknown as Argv<TablesArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);
    const options = { ...engineOptions(argv), ...(argv.out !== undefined ? { outDir: argv.out } : {}) };
    const { exportTables } = await import('../../tables/index.js');
    const result = await exportTables(argv.dir, { ...options, onEvent: (event) => output.info(describeTablesEvent(event)) });
    reportTables(output, result);
  },
};

/** One progress line per staged resource type, the deletions read and each written table. Pure. */
export function describeTablesEvent(event: TablesEvent): string {
  switch (event.type) {
    case 'tables_staged':
      return `read ${plural(event.resources, `${event.resourceType} resource`)} from ${plural(event.files, 'verified file')}`;
    case 'deletions_staged':
      return `read ${plural(event.deletions, 'deleted resource')} from ${plural(event.files, 'verified deleted file')}`;
    case 'table_written':
      return `wrote ${event.table} (${plural(event.rows, 'row')})`;
  }
}

function reportTables(output: Output, result: ExportTablesResult): void {
  for (const file of result.excluded) output.warn(`not read: ${file.path}: ${file.reason}`);
  output.info(result.upToDate ? `tables in ${result.tablesDir} are up to date (${plural(result.runs.length, 'run')})` : `read ${plural(result.added.length, 'run')} into ${result.tablesDir}`);
  output.result(result, () => formatTable(result.tables, ['name', 'rows', 'kind', 'file']));
}

export const queryCommand: CommandModule<GlobalArgs, QueryArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    engineFlags(
      (y as Argv<GlobalArgs>)
        .positional('dir', { type: 'string', demandOption: true, describe: 'Tables folder, or an export folder (tables in <dir>/tables)' })
        .positional('sql', { type: 'string', demandOption: true, describe: 'One SQL statement (DuckDB dialect)' })
        .option('csv', { type: 'boolean', default: false, describe: 'CSV with a header line on stdout' }),
    )
      .example('$0 query exports "select claim_type, count(*) from claims group by 1"', 'claims per type')
      .example('$0 query exports/tables "select * from claim_lines where hcpcs_code = \'99213\'" --csv > visits.csv', 'CSV for a spreadsheet')
      .epilogue('Tables: patients, coverage, claims, claim_lines, diagnoses, procedures, raw_patient, raw_coverage, raw_explanationofbenefit (README "Claims as tables"). --json prints an array of row objects.') as unknown as Argv<QueryArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);
    if (argv.csv && argv.json) throw new DpcError('ERR_USAGE', 'choose one of --csv and --json', { location: '--csv' });
    const { queryExport } = await import('../../tables/index.js');
    const { csvLine, formatQueryTable, HUMAN_ROW_LIMIT, rowObject } = await import('../query-format.js');
    const write = (text: string) => output.raw(redact(text));
    const shown: QueryValue[][] = [];
    let written = 0;
    // CSV and JSON stream (one row a line, `[`…`]` around JSON rows); the human table keeps the first rows for widths
    const onRows = (rows: QueryValue[][], columns: QueryColumn[]) => {
      const lines: string[] = [];
      for (const row of rows) {
        if (argv.csv) lines.push(`${written === 0 ? `${csvLine(columns.map((c) => c.name))}\n` : ''}${csvLine(row)}`);
        else if (argv.json) lines.push(`${written === 0 ? '[' : ','}${jsonForTerminal(rowObject(columns, row))}`);
        else if (shown.length < HUMAN_ROW_LIMIT) shown.push(row);
        written++;
      }
      if (lines.length > 0) write(lines.join('\n'));
    };
    const result = await queryExport(argv.dir, argv.sql, { ...engineOptions(argv), onRows });
    if (result.refreshed && !result.refreshed.upToDate) {
      for (const file of result.refreshed.excluded) output.warn(`not read: ${file.path}: ${file.reason}`);
      output.info(`read ${plural(result.refreshed.added.length, 'run')} into ${result.tablesDir}`);
    }
    if (argv.csv && written === 0) write(csvLine(result.columns.map((c) => c.name)));
    else if (argv.json) write(written === 0 ? '[]' : ']');
    else if (!argv.csv) write(formatQueryTable(result.columns, shown, result.rowCount));
  },
};
