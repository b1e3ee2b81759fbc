/**
 * `dpc patient everything|export`: one patient's claims data. `everything` is DPC's point-of-care
 * `Patient/{id}/$everything` (a Bundle now, or with --async a job downloaded and verified like a group export);
 * `export` is `Patient/{id}/$export` through the verified export engine. Both are attested for the treating
 * practitioner (X-Provenance).
 */
import type { Argv, CommandModule } from 'yargs';
import { join } from 'node:path';
import type { DpcClient } from '../../client.js';
import type { ExportRunResult } from '../../export/index.js';
import type { EverythingSummary, PointOfCare } from '../../fhir/everything.js';
import { withClient, type GlobalArgs } from '../context.js';
import { inline, type Output } from '../output.js';
import { finish, GZIP_OPTION, POLL_INTERVAL_OPTION, withProgress } from './export.js';
import { splitList } from '../flag-values.js';
import { parseDuration } from '../duration.js';
import { runExport, runOutcomeError } from '../../export/index.js';
import { mbiOf } from '../../fhir/resources.js';
import { pointOfCare, patientEverything, summariseEverything, summariseEverythingFiles } from '../../fhir/everything.js';
import { writeOwnerOnly } from '../../fs.js';
import { isDpcError, restated } from '../../errors.js';
import { validateSince } from '../../export/job.js';

interface PatientDataArgs extends GlobalArgs {
  ref: string;
  practitioner: string;
  since?: string;
  pollInterval: string;
}

const common = (y: Argv<GlobalArgs>) =>
  y
    .positional('ref', { type: 'string', demandOption: true, describe: 'MBI or DPC patient id' })
    .option('practitioner', { type: 'string', demandOption: true, describe: 'NPI (or id) of the treating practitioner, attested in X-Provenance' })
    .option('since', { type: 'string', describe: 'Only resources changed after this ISO time with offset, e.g. 2025-01-01T00:00:00Z' })
    .options(POLL_INTERVAL_OPTION);

/** The one-patient job run through the export engine into `outDir/<MBI>/<run>/`. */
async function runPatientJob(
  client: DpcClient,
  output: Output,
  argv: PatientDataArgs & { out: string; gzip?: boolean; type?: string[] },
  care: PointOfCare,
  everything: boolean,
): Promise<ExportRunResult> {
  const target = { kind: 'one-patient', patientId: care.patient.id!, provenance: care.provenance, label: mbiOf(care.patient) ?? care.patient.id!, everything } as const;
  const options = { outDir: argv.out, target, types: argv.type, since: argv.since, gzip: argv.gzip, pollIntervalMs: parseDuration(argv.pollInterval, 'pollInterval') };
  return withProgress(output, argv.quiet, (onEvent, signal) => runExport(client, { ...options, onEvent, signal }));
}

/** Bad `--since` is reported before any request is made. */
function checkSince(since: string | undefined, now: number): void {
  if (since !== undefined) validateSince(since, now);
}

/** Pure: the short human summary of one patient's data. */
function summaryText(summary: EverythingSummary, saved: string): string {
  const range = summary.firstClaim !== undefined ? ` (${summary.firstClaim} to ${summary.lastClaim})` : '';
  const types = Object.entries(summary.types).map(([type, n]) => `${inline(type)} ${n}`).join(', ');
  return [
    `patient  ${inline(summary.mbi ?? '?')}`,
    `claims   ${summary.claims}${inline(range)}`,
    `types    ${types || 'none'}`,
    `saved    ${saved}`,
  ].join('\n');
}

/** The library's advice on a timeout ("ask for it as a job") is this command's --async. */
function withAsyncHint(error: unknown): never {
  if (!isDpcError(error, 'ERR_TIMEOUT')) throw error;
  throw restated(error, error.code, `${error.message} (--async)`);
}

interface EverythingArgs extends PatientDataArgs {
  out?: string;
  async: boolean;
}

export const everythingCommand: CommandModule<GlobalArgs, EverythingArgs> = {
  command: 'everything <ref>',
  describe: "Point of care: one patient's claims, coverage and demographics now ($everything), with a short summary",
  builder: (y) =>
    common(y as Argv<GlobalArgs>)
      .option('out', { type: 'string', describe: 'Write the Bundle to this file (0600); with --async, the output folder (default dpc-export)' })
      .option('async', { type: 'boolean', default: false, describe: 'Ask for a job instead and download its NDJSON files, verified' })
      .example('$0 patient everything 1S00E00AA01 --practitioner 1232131239 --out visit.json', 'the Bundle into visit.json, summary on stdout')
      .example('$0 patient everything 1S00E00AA01 --practitioner 1232131239 --since 2025-01-01T00:00:00Z --json', 'recent changes, summary and Bundle as JSON')
      .example('$0 patient everything 1S00E00AA01 --practitioner 1232131239 --async --out exports', 'as a job: verified NDJSON in exports/1S00E00AA01/<run>/') as unknown as Argv<EverythingArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      checkSince(argv.since, client.now());
      const care = await pointOfCare(client, argv.ref, argv.practitioner);
      if (argv.async) {
        const result = await runPatientJob(client, output, { ...argv, out: argv.out ?? 'dpc-export' }, care, true);
        const [group] = result.groups;
        const run = group?.manifest;
        if (!run) return finish(output, result, runOutcomeError(result));
        const dir = join(result.outDir, run.label, run.run);
        const summary = await summariseEverythingFiles(run.files.filter((f) => f.kind === 'output').map((f) => join(dir, f.path)));
        output.result({ summary, manifestPath: group.manifestPath, manifest: run }, () => summaryText(summary, dir));
        const error = runOutcomeError(result);
        if (error) throw error;
        return;
      }
      const bundle = await patientEverything(client, care.patient.id!, { provenance: care.provenance, since: argv.since }).catch(withAsyncHint);
      const summary = summariseEverything(bundle);
      if (argv.out !== undefined) {
        await writeOwnerOnly(argv.out, `${JSON.stringify(bundle, null, 2)}\n`);
      }
      const saved = argv.out ?? 'not saved (use --out FILE)';
      output.result(argv.out !== undefined ? { summary, file: argv.out } : { summary, bundle }, () => summaryText(summary, saved));
    }),
};

interface ExportArgs extends PatientDataArgs {
  out: string;
  type?: string[];
  gzip: boolean;
}

export const patientExportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export <ref>',
  describe: "Bulk-export one patient's data (Patient/{id}/$export), downloaded and verified like a group export",
  builder: (y) =>
    common(y as Argv<GlobalArgs>)
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder (created 0700); files go to <out>/<MBI>/<run>/' })
      .option('type', { type: 'string', array: true, describe: 'Resource types, e.g. Patient,Coverage (default: all)', coerce: splitList })
      .options(GZIP_OPTION)
      .example('$0 patient export 1S00E00AA01 --practitioner 1232131239 --out exports', "one patient's files, verified, with manifest.json")
      .example('$0 patient export 1S00E00AA01 --practitioner 1232131239 --out exports --type ExplanationOfBenefit --json', 'claims only, JSON summary') as unknown as Argv<ExportArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      checkSince(argv.since, client.now());
      const care = await pointOfCare(client, argv.ref, argv.practitioner);
      const result = await runPatientJob(client, output, argv, care, false);
      finish(output, result, runOutcomeError(result));
    }),
};
