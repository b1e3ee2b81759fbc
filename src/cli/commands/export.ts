/**
 * `dpc export run|status|download|verify`: verified bulk export (src/export). Progress goes to stderr: bars on a TTY,
 * otherwise NDJSON lines in the SMART bulk-data log vocabulary; the summary goes to stdout (JSON with --json).
 */
import type { Argv, CommandModule } from 'yargs';
import { DpcError } from '../../errors.js';
import { exitCodeFor } from '../exit-codes.js';
import { cliMessage } from '../fields.js';
import type { ExportEvent, ExportRunResult, ExportTarget } from '../../export/index.js';
import { outputFor, withClient, type GlobalArgs } from '../context.js';
import { formatTable, markPrintedWithResult, type Output } from '../output.js';
import { parseDuration } from '../duration.js';
import { parseSize } from '../size.js';
import { positiveInt, splitList } from '../flag-values.js';
import { plural } from '../../plural.js';
import { tablesCommand } from './tables.js';
import { runExport, runOutcomeError, exportStatus, downloadExisting, verifyExportDir, cancelExport } from '../../export/index.js';
import { createProgress } from './export-progress.js';

// paragraphs without hard line breaks: yargs wraps them at the terminal width (80, 120...) without ragged lines
const LAYOUT = [
  [
    'Files: <out>/<group id | NPI | patient | system>/<run>/<Type>-NNN.ndjson[.gz] (0600; folders 0700), one run folder per job,',
    'named after its kick-off time (UTC, e.g. 2026-11-25T020000Z); nothing of a completed run is ever deleted (prune old runs',
    'yourself). manifest.json in the run folder is written last: per file url, type, path, bytes, sha256, count;',
    'transactionTime, request and the error summary. <out>/<group>/LATEST names the newest run whose files all verified.',
  ].join(' '),
  [
    'Rerunning the same command resumes the unfinished job in its run folder and skips verified files. Files failing',
    'verification twice are kept in <out>/.quarantine/<group>/<run>/. State (resume, --since auto): <out>/.dpc-export-state.json and, while a run is going, .dpc-export-state.journal.',
  ].join(' '),
].join('\n\n');

interface RunArgs extends GlobalArgs {
  group?: string;
  npi?: string;
  allGroups: boolean;
  patientLevel: boolean;
  system: boolean;
  onComplete?: string;
  type?: string[];
  since?: string;
  elements?: string[];
  typeFilter?: string[];
  patient?: string[];
  includeAssociatedData?: string[];
  post: boolean;
  lenient: boolean;
  out: string;
  concurrency: number;
  groupConcurrency: number;
  gzip: boolean;
  pollInterval: string;
  maxWait: string;
  maxFileSize: string;
  deleteJob: boolean;
}

/** Bounds of an unattended run (`run` and `download`): how long in all, how large a file. */
const BOUND_OPTIONS = {
  'max-wait': { type: 'string', default: '24h', describe: 'Give up (exit 1, resumable) when the run, waiting for the job included, takes longer (DPC keeps a job 24h)' },
  'max-file-size': { type: 'string', default: '4GiB', describe: 'Largest data file accepted, uncompressed (binary units: 4GiB = 4GB); a larger body is stopped and quarantined' },
} as const;

function boundsOf(argv: { maxWait: string; maxFileSize: string }): { maxWaitMs: number; maxFileBytes: number } {
  return { maxWaitMs: parseDuration(argv.maxWait, 'maxWait'), maxFileBytes: parseSize(argv.maxFileSize, 'maxFileBytes') };
}

/** Every command that waits for a job and downloads its files (`export run|download`, `patient export|everything --async`). */
export const POLL_INTERVAL_OPTION = {
  'poll-interval': { type: 'string', default: '20s', describe: 'Longest wait between job status polls when the server sends no Retry-After (the first are 1s, 2s, 4s…)' },
} as const;

export const GZIP_OPTION = {
  gzip: { type: 'boolean', default: false, describe: 'Keep files gzip-compressed (<Type>-NNN.ndjson.gz)' },
} as const;

/** `run` and `download`: tell the server a finished job may go, as the SMART reference client offers to. */
const DELETE_JOB_OPTION = {
  'delete-job': {
    type: 'boolean',
    default: false,
    describe: 'Once every file of a job verified, DELETE the job on the server so it may drop the files (generic servers; DPC has no cancel: reported, not a failure)',
  },
} as const;

function targetOf(argv: RunArgs): ExportTarget {
  const chosen = [
    argv.group !== undefined && ({ kind: 'group', groupId: argv.group } as const),
    argv.npi !== undefined && ({ kind: 'npi', npi: argv.npi } as const),
    argv.allGroups && ({ kind: 'all-groups' } as const),
    argv.patientLevel && ({ kind: 'patient' } as const),
    argv.system && ({ kind: 'system' } as const),
  ].filter((t) => t !== false);
  if (chosen.length !== 1) throw new DpcError('ERR_USAGE', 'name exactly one of --group, --npi, --all-groups, --patient-level, --system', { location: '--group' });
  return chosen[0]!;
}

const run: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run',
  describe: 'Start (or resume) a bulk export and download every file, verified',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .option('group', { type: 'string', describe: 'Group id to export' })
      .option('npi', { type: 'string', describe: "Export the attribution group of this practitioner's NPI" })
      .option('all-groups', { type: 'boolean', default: false, describe: 'Export every group of the organization' })
      .option('patient-level', { type: 'boolean', default: false, describe: 'Type-level Patient/$export (generic Bulk Data servers; DPC has none: use `dpc patient export`)' })
      .option('system', { type: 'boolean', default: false, describe: 'System-level $export (generic Bulk Data servers)' })
      .option('type', { type: 'string', array: true, describe: 'Resource types, e.g. Patient,Coverage (default: all)', coerce: splitList })
      .option('since', { type: 'string', describe: 'Only resources changed after this ISO time (with offset), or "auto": the last verified run' })
      .option('elements', { type: 'string', array: true, coerce: splitList, describe: '_elements, e.g. id,birthDate (generic servers; DPC ignores it)' })
      .option('type-filter', { type: 'string', array: true, describe: '_typeFilter search query, repeatable, e.g. "Observation?category=laboratory" (generic servers; DPC ignores it)' })
      .option('patient', { type: 'string', array: true, coerce: splitList, describe: 'Only these patients (ids or Patient/ references): a POST kick-off (generic servers; not DPC)' })
      .option('include-associated-data', { type: 'string', array: true, coerce: splitList, describe: 'includeAssociatedData codes, e.g. LatestProvenanceResources (where the server supports it)' })
      .option('post', { type: 'boolean', default: false, describe: 'Kick off with a POST Parameters body (generic servers; implied by --patient; not DPC)' })
      .option('lenient', { type: 'boolean', default: false, describe: 'Prefer handling=lenient: the server may ignore parameters it does not support (generic servers; DPC refuses it)' })
      .option('out', { type: 'string', default: 'dpc-export', describe: 'Output folder (created 0700; an existing one keeps its mode, the run writes 0700 subfolders)' })
      .option('concurrency', { type: 'number', default: 4, describe: 'Parallel file downloads' })
      .option('group-concurrency', { type: 'number', default: 2, describe: 'Groups exported at once with --all-groups' })
      .options(GZIP_OPTION)
      .options(POLL_INTERVAL_OPTION)
      .option('on-complete', { type: 'string', describe: 'Command run (by /bin/sh) when a group\'s run is complete, with its manifest.json path as last argument and in DPC_MANIFEST' })
      .options(BOUND_OPTIONS)
      .options(DELETE_JOB_OPTION)
      .example('$0 export run --group 64d0cd85-7767-425a-a3b8-dcc9bdfd5402 --out exports', 'export one group, every type')
      .example('$0 export run --npi 1234329724 --type Patient,Coverage', "the group of a practitioner's NPI, two types")
      .example('$0 export run --all-groups --since auto --out /data/nightly', 'nightly incremental export of the whole organization')
      .example('$0 export run --group ID --gzip --concurrency 8 --json', 'keep gzip files, 8 downloads, JSON summary on stdout')
      .example('$0 --profile ref export run --system --type Patient --elements id,birthDate', 'a generic Bulk Data server, two elements only')
      .example('$0 --profile ref export run --group G1 --patient p1,p2 --type-filter "Observation?category=laboratory"', 'two patients of a group, lab results only (POST kick-off)')
      .epilogue(LAYOUT) as unknown as Argv<RunArgs>,
  handler: async (argv) => {
    // flags first (outside withClient): a bad one fails before the config and key are read
    const target = targetOf(argv);
    const options = {
      outDir: argv.out,
      target,
      types: argv.type,
      since: argv.since,
      elements: argv.elements,
      typeFilter: argv.typeFilter,
      patients: argv.patient,
      includeAssociatedData: argv.includeAssociatedData,
      post: argv.post,
      lenient: argv.lenient,
      gzip: argv.gzip,
      concurrency: positiveInt(argv.concurrency, '--concurrency'),
      groupConcurrency: positiveInt(argv.groupConcurrency, '--group-concurrency'),
      pollIntervalMs: parseDuration(argv.pollInterval, 'pollInterval'),
      deleteJobWhenDone: argv.deleteJob,
      ...boundsOf(argv),
    };
    await withClient(argv, async (client, output) => {
      const onGroupComplete = argv.onComplete === undefined ? undefined : (await import('../on-complete.js')).onCompleteCommand(argv.onComplete);
      const result = await withProgress(output, argv.quiet, (onEvent, signal) => runExport(client, { ...options, onEvent, signal, onGroupComplete }));
      finish(output, result, runOutcomeError(result));
    });
  },
};

interface SourceArgs extends GlobalArgs {
  source: string;
}

const status: CommandModule<GlobalArgs, SourceArgs> = {
  command: 'status <source>',
  describe: 'Show the state of an export job (JOB_URL) or of each group recorded in an output folder (DIR)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('source', { type: 'string', demandOption: true, describe: 'Job URL (Content-Location of the kick-off) or output folder' })
      .example('$0 export status https://sandbox.dpc.cms.gov/api/v1/Jobs/JOB_ID', 'one status request, no waiting')
      .example('$0 export status /data/nightly', 'every job recorded in that output folder') as unknown as Argv<SourceArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const reports = await exportStatus(client, argv.source);
      // Bulk Data 2.0 `deleted` files: a column only when a job lists some (DPC never does)
      const deleted = reports.some((r) => (r.deletedFiles ?? 0) > 0) ? (['deletedFiles'] as const) : [];
      output.result(reports, () =>
        formatTable(reports, [
          'label', 'state', 'run', 'progress', ['transactionTime', 'Transaction'], 'files', 'errorFiles', ...deleted, 'latest', ['lastTransactionTime', 'Last transaction'], ['jobUrl', 'Job URL'],
        ]),
      );
    }),
};

interface DownloadArgs extends SourceArgs {
  out?: string;
  concurrency: number;
  gzip: boolean;
  pollInterval: string;
  maxWait: string;
  maxFileSize: string;
  deleteJob: boolean;
}

const download: CommandModule<GlobalArgs, DownloadArgs> = {
  command: 'download <source>',
  describe: 'Wait for an existing job (JOB_URL, or the unfinished jobs in DIR) and download its files, verified',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('source', { type: 'string', demandOption: true, describe: 'Job URL or output folder' })
      .option('out', { type: 'string', describe: 'Output folder (required with a job URL)' })
      .option('concurrency', { type: 'number', default: 4, describe: 'Parallel file downloads' })
      .options(GZIP_OPTION)
      .options(POLL_INTERVAL_OPTION)
      .options(BOUND_OPTIONS)
      .options(DELETE_JOB_OPTION)
      .example('$0 export download https://sandbox.dpc.cms.gov/api/v1/Jobs/JOB_ID --out exports', 'fetch the files of a job started elsewhere')
      .example('$0 export download exports', 'finish the unfinished jobs recorded in exports/')
      .epilogue(LAYOUT) as unknown as Argv<DownloadArgs>,
  handler: async (argv) => {
    const options = {
      source: argv.source,
      outDir: argv.out,
      gzip: argv.gzip,
      concurrency: positiveInt(argv.concurrency, '--concurrency'),
      pollIntervalMs: parseDuration(argv.pollInterval, 'pollInterval'),
      deleteJobWhenDone: argv.deleteJob,
      ...boundsOf(argv),
    };
    await withClient(argv, async (client, output) => {
      const result = await withProgress(output, argv.quiet, (onEvent, signal) => downloadExisting(client, { ...options, onEvent, signal }));
      finish(output, result, runOutcomeError(result));
    });
  },
};

const cancel: CommandModule<GlobalArgs, SourceArgs> = {
  command: 'cancel <source>',
  describe: 'Cancel a job on the server (DELETE on its status URL): JOB_URL, or the unfinished jobs recorded in DIR',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('source', { type: 'string', demandOption: true, describe: 'Job URL or output folder' })
      .example('$0 export cancel https://bulk.example.org/fhir/bulkstatus/JOB_ID', 'cancel one job (generic servers; DPC has no cancel)')
      .example('$0 export cancel exports', 'give up the unfinished jobs of exports/: the next run starts new ones')
      .epilogue('An interrupted run (Ctrl-C, --max-wait) leaves its job running so that a rerun resumes it; cancel gives it up for good.') as unknown as Argv<SourceArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const reports = await cancelExport(client, argv.source);
      output.result(reports, () => formatTable(reports, ['label', 'outcome', 'run', ['jobUrl', 'Job URL']]));
    }),
};

interface VerifyArgs extends GlobalArgs {
  dir: string;
  latest: boolean;
}

const verify: CommandModule<GlobalArgs, VerifyArgs> = {
  command: 'verify <dir>',
  describe: 'Re-hash the files on disk against manifest.json (no network)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('dir', { type: 'string', demandOption: true, describe: 'Output folder, one group folder or one run folder' })
      .option('latest', { type: 'boolean', default: false, describe: 'Only the run each group folder\'s LATEST names' })
      .example('$0 export verify exports', 'check every run of every group folder under exports/')
      .example('$0 export verify exports --latest', 'check the newest complete run of each group')
      .example('$0 export verify exports/GROUP_ID/2026-11-25T020000Z', 'check one run') as unknown as Argv<VerifyArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);
    const report = await verifyExportDir(argv.dir, { latest: argv.latest });
    const bad = report.files.filter((f) => !f.ok);
    output.result(report, () =>
      [
        ...report.files.map((f) => `${f.ok ? 'ok  ' : 'FAIL'}  ${f.path}${f.ok ? '' : `: ${f.problems.join('; ')}`}`),
        `${report.files.length - bad.length} of ${report.files.length} files verified in ${plural(report.manifests, 'manifest')}`,
      ].join('\n'),
    );
    if (bad.length > 0) throw new DpcError('ERR_INTEGRITY', `${plural(bad.length, 'file')} in ${argv.dir} ${bad.length === 1 ? 'does' : 'do'} not match the manifest`, { location: argv.dir });
  },
};

export const exportCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(run)
      .command(status)
      .command(download)
      .command(verify)
      .command(cancel)
      .command(tablesCommand)
      .demandCommand(1, 'Name an export command: run, status, download, verify, cancel or tables')
      .example('$0 export run --group GROUP_ID --out exports', 'export a group and verify every file')
      .example('$0 export run --all-groups --since auto --out /data/nightly', 'nightly incremental export, resumable')
      .example('$0 export verify exports', 're-hash the files on disk against their manifests'),
  handler: () => undefined,
};

/**
 * Run with progress shown until the work ends (bars are gone before the summary prints), and Ctrl-C/SIGTERM turned
 * into an abort (the lock is released, the state keeps what was verified).
 */
export async function withProgress<T>(output: Output, quiet: boolean, work: (onEvent: (e: ExportEvent) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const progress = await createProgress(output, quiet);
  try {
    return await work(progress.onEvent, controller.signal);
  } finally {
    progress.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Print the summary, then end with the run's error (exit 1 or 4) if it has one. */
export function finish(output: Output, result: ExportRunResult, error: DpcError | undefined): void {
  const rows = result.groups.map((g) => ({
    label: g.label,
    npi: g.npi,
    files: g.manifest?.files.length,
    resources: g.manifest?.files.filter((f) => f.kind === 'output').reduce((s, f) => s + f.count, 0),
    mib: g.manifest ? (g.manifest.files.reduce((s, f) => s + (f.gzipBytes ?? f.bytes), 0) / 2 ** 20).toFixed(1) : undefined,
    patientErrors: g.manifest?.errors.total,
    quarantined: g.manifest?.quarantined.length,
    manifest: g.manifestPath ?? (g.skipped ? `skipped: ${g.skipped}` : g.error ? `failed: ${cliMessage(g.error)}` : ''),
  }));
  const json = {
    outDir: result.outDir,
    ok: error === undefined,
    exitCode: error ? exitCodeFor(error) : 0,
    ...(error ? { error: { code: error.code, message: cliMessage(error), ...(error.details?.length ? { details: error.details } : {}) } } : {}),
    groups: result.groups.map((g) => ({
      label: g.label,
      groupId: g.groupId,
      npi: g.npi,
      skipped: g.skipped,
      manifestPath: g.manifestPath,
      manifest: g.manifest,
      error: g.error && { code: g.error.code, message: cliMessage(g.error) },
      jobDeletion: g.jobDeletion,
    })),
  };
  output.result(json, () => formatTable(rows, ['label', 'npi', 'files', 'resources', 'mib', 'patientErrors', 'quarantined', 'manifest']));
  for (const g of result.groups) {
    if (g.jobDeletion?.outcome === 'failed') output.warn(`${g.label}: the export is complete, but the server did not delete the job: ${g.jobDeletion.message}`);
  }
  if (error) {
    // the JSON result above already carries ok: false and each group's error
    if (output.json) markPrintedWithResult(error);
    throw error;
  }
}
