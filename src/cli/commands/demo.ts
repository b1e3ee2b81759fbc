/**
 * `dpc demo`: the whole DPC journey (src/demo) against an embedded sandbox on an ephemeral loopback port, with no
 * account and no network. One line per step on stderr (NDJSON with --json), the summary on stdout. `--keep` leaves
 * the sandbox up until Ctrl-C so the other commands can be tried against it.
 */
import type { Argv, CommandModule } from 'yargs';
import { formatBytes, type DemoStep, type DemoSummary } from '../../demo/summary.js';
import { DpcError } from '../../errors.js';
import { describePatients } from '../../export/outcomes.js';
import { describeEvent, outputFor, type GlobalArgs } from '../context.js';
import { formatTable, type Output } from '../output.js';
import { cliProcess } from '../cli-process.js';
import { logRecord } from './export-progress.js';
import { rm } from 'node:fs/promises';

interface DemoArgs extends GlobalArgs {
  dir?: string;
  keep: boolean;
  scale: number;
}

const MAX_SCALE = 100;

export const demoCommand: CommandModule<GlobalArgs, DemoArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .option('dir', { type: 'string', describe: 'New or empty folder for keys, client token and export, kept afterwards (default: a temp folder, removed at the end unless --keep)' })
      .option('keep', { type: 'boolean', default: false, describe: 'Keep the sandbox running after the demo, until Ctrl-C, to try other commands against it' })
      .option('scale', { type: 'number', default: 1, describe: `Export size: claims per patient multiplier (1 to ${MAX_SCALE})` })
      .example('$0 demo', 'the journey in a temp folder, removed at the end')
      .example('$0 demo --dir demo --keep', 'keep the files in ./demo and the sandbox up afterwards')
      .example('$0 demo --json --scale 10', 'larger export files, JSON summary on stdout') as unknown as Argv<DemoArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);
    if (!Number.isInteger(argv.scale) || argv.scale < 1 || argv.scale > MAX_SCALE) {
      throw new DpcError('ERR_USAGE', `--scale must be an integer from 1 to ${MAX_SCALE}, got ${argv.scale}`, { field: 'scale' });
    }
    // a temp folder of our own choosing is removed at the end; the user's --dir, or files a kept sandbox uses, stay
    const removeDir = argv.dir === undefined && !argv.keep;
    const stop = new AbortController();
    const onSignal = () => stop.abort(new DpcError('ERR_ABORTED', 'dpc demo interrupted; the sandbox was closed'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let dir: string | undefined;
    try {
      // the sandbox server and the HTTP client: not for `dpc demo --help`
      const { prepareDemoDir, runDemo } = await import('../../demo/index.js');
      dir = await prepareDemoDir(argv.dir);
      output.info(`dpc demo: the DPC journey on an embedded sandbox (no account, no network); files in ${dir}`);
      const printSummary = (summary: DemoSummary) =>
        output.result({ ...summary, filesKept: !removeDir, next: [...nextCommands(summary, argv.keep, !removeDir), queryHint(summary, !removeDir)] }, () =>
          formatSummary(summary, argv.keep, !removeDir),
        );
      const summary = await runDemo({
        dir,
        exportScale: argv.scale,
        signal: stop.signal,
        redactor: cliProcess().redactor,
        ...(argv.quiet ? {} : { onStep: (step: DemoStep) => printStep(output, step) }),
        ...(argv.debug
          ? {
              onHttp: (event) => output.debugLine(describeEvent(event)),
              onExportEvent: (event) => {
                const record = logRecord(event);
                if (record) output.debugLine(JSON.stringify(record));
              },
            }
          : {}),
        ...(argv.keep
          ? {
              hold: async (kept: DemoSummary, sandbox: { baseUrl: string }) => {
                printSummary(kept);
                output.info(keepInstructions(kept, sandbox.baseUrl));
                if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
                output.info('stopping the sandbox…');
              },
            }
          : {}),
      });
      if (!argv.keep) printSummary(summary);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (removeDir && dir !== undefined) {
        await rm(dir, { recursive: true, force: true });
        output.info(`removed the temporary folder ${dir} (keep the files with --dir DIR)`);
      }
    }
  },
};

function printStep(output: Output, step: DemoStep): void {
  if (output.json) output.event({ eventId: 'demo_step', step: step.name, index: step.index, total: step.total, ms: step.ms, message: step.message });
  else output.info(`✓ ${String(step.index).padStart(2)}/${step.total} ${step.message} (${formatMs(step.ms)})`);
}

/** `850 ms`, `2.4 s`. Pure. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** What to try after the demo. Pure. */
export function nextCommands(summary: DemoSummary, kept: boolean, filesKept = true): string[] {
  const verify = `dpc export verify ${summary.exported.dir}`;
  if (kept) return [verify, 'dpc org show', 'dpc group list', `dpc export run --group ${summary.exported.groupId} --out ${summary.dir}/export-again`];
  return [filesKept ? verify : 'dpc demo --dir demo', 'dpc sandbox start --seed', 'dpc demo --keep'];
}

/** The demo's last line: its export as SQL tables (built on first use). Pure. */
export function queryHint(summary: Pick<DemoSummary, 'dir'>, filesKept = true): string {
  // a removed temp folder cannot be queried: point at the folder `dpc demo --dir demo` (the Next list) keeps
  const dir = !filesKept ? 'demo' : /^[\w./-]+$/.test(summary.dir) ? summary.dir : `'${summary.dir.replaceAll("'", "'\\''")}'`;
  return `dpc query ${dir} "select claim_type, count(*) from claims group by 1"`;
}

const NEXT_NOTES: Record<string, string> = {
  'dpc export verify': 're-hash the exported files against manifest.json (offline)',
  'dpc sandbox start': 'a sandbox that stays up, with sample data and a ready-made profile',
  'dpc demo --dir': 'the demo again, keeping its keys, token and export in ./demo',
  'dpc demo --keep': 'the demo again, leaving its sandbox up to try the other commands',
  'dpc org show': 'the organization, through the API',
  'dpc group list': 'the attribution groups the roster sync made',
  'dpc export run': 'a second export of the same group',
};

/** The human summary. Pure. */
export function formatSummary(summary: DemoSummary, kept: boolean, filesKept = true): string {
  const { exported, patientErrors } = summary;
  const [portal, api] = summary.keys;
  const pad = (label: string) => `  ${label.padEnd(15)}`;
  const indent = ' '.repeat(17);
  const files = formatTable(
    exported.files.map((f) => ({ file: f.path, resources: f.kind === 'error' ? `${f.resources} error${f.resources === 1 ? '' : 's'}` : String(f.resources), size: formatBytes(f.bytes) })),
    ['file', 'resources', 'size'],
  );
  const lines = [
    '',
    'Summary',
    `${pad('organization')}${summary.organization.id} (client token in ${summary.organization.clientTokenFile})`,
    `${pad('keys')}${portal?.id} registered through the portal`,
    `${indent}${api?.id} uploaded with POST /Key, the key id (kid) used from then on`,
    `${pad('access token')}from /Token/auth, valid ${summary.accessToken.expiresInSec ?? '?'} s (never printed)`,
    `${pad('registered')}${summary.registered.practitioners} practitioners, ${summary.registered.patients} patients`,
    `${pad('roster')}${summary.roster.groups.length} groups from ${summary.roster.file}, ${summary.roster.rows} members`,
    `${pad('exported')}group ${exported.groupId} (NPI ${exported.npi}, ${exported.members} patients): ${exported.types.join(', ')}`,
    ...files.split('\n').map((line) => `${indent}  ${line}`),
    `${indent}${exported.verified ? 'verified ✓' : 'NOT verified ✗'} ${exported.files.length} files, ${exported.resources} resources, ` +
      `${formatBytes(exported.bytes)}: sha256 and counts match ${exported.manifest}`,
    `${pad('patient errors')}${patientErrors.total === 0 ? 'none' : `${patientErrors.total} (expected)`}`,
    ...patientErrors.reasons.map((r) => `${indent}${r.count} × ${r.reason}${r.patients.length > 0 ? ` (${describePatients(r)})` : ''}`),
    ...(patientErrors.total > 0
      ? [
          `${indent}The sandbox fails a few MBIs on purpose, the way DPC reports patients whose data it cannot retrieve. They`,
          `${indent}are listed in the error file and manifest.json; everyone else's data is complete: not a demo failure.`,
        ]
      : []),
    `${pad('folder')}${summary.dir}${filesKept ? '' : ' (temporary: removed now)'}`,
    `${pad('time')}${formatMs(summary.totalMs)}${kept ? '' : ', sandbox closed'}`,
    '',
    'Next',
    ...nextCommands(summary, kept, filesKept).map((command) => {
      const note = Object.entries(NEXT_NOTES).find(([prefix]) => command.startsWith(prefix))?.[1];
      return `  ${command}${note ? `\n      ${note}` : ''}`;
    }),
    '',
    `Claims as tables (Parquet + SQL): ${queryHint(summary, filesKept)}`,
  ];
  return lines.join('\n');
}

/** How to point the other commands at the kept sandbox; the client token is read from its file, never shown. */
function keepInstructions(summary: DemoSummary, baseUrl: string): string {
  const key = summary.keys.find((k) => k.id === summary.keyId);
  return [
    '',
    `The sandbox keeps running at ${baseUrl} until Ctrl-C. In another shell:`,
    `  export DPC_BASE_URL=${baseUrl}`,
    `  export DPC_CLIENT_TOKEN="$(cat ${summary.organization.clientTokenFile})"`,
    `  export DPC_PRIVATE_KEY=${key?.privateKeyFile ?? ''}`,
    `  export DPC_KEY_ID=${summary.keyId}`,
    'then try the commands under Next.',
  ].join('\n');
}
