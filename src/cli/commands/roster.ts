/**
 * `dpc roster sync roster.csv`: make DPC's rosters match the CSV users already keep. Checks the whole file first
 * (nothing is sent if any row is wrong), prints the plan, applies it, then reports what changed.
 */
import type { Argv, CommandModule } from 'yargs';
import { withClient, type GlobalArgs } from '../context.js';
import { inline } from '../output.js';
import type { SyncPlan } from '../../roster/plan.js';
import type { SyncResult } from '../../roster/apply.js';
import { npiOf } from '../../fhir/resources.js';
import { plural } from '../../plural.js';
import { readJson } from './fhir-common.js';
import { readRosterFile } from '../../roster/read.js';
import { syncRoster } from '../../roster/sync.js';
import { parseDuration } from '../duration.js';
import { planChanges } from '../../roster/plan.js';

interface SyncArgs extends GlobalArgs {
  file: string;
  dryRun: boolean;
  removeMissing: boolean;
  patients?: string;
  practitioners?: string;
  within: string;
}

const DAY_MS = 86_400_000;

/** The plan without resource bodies: what people and scripts need to read. */
function planSummary(plan: SyncPlan) {
  const mbis = (members: ReadonlyArray<{ mbi: string; patientId?: string }>) => members.map((m) => m.mbi || m.patientId);
  return {
    registerPractitioners: plan.registerPractitioners.map(npiOf),
    registerPatients: plan.registerPatients.length,
    practitioners: plan.practitioners.map((p) => ({
      npi: p.npi,
      groupId: p.groupId,
      createGroup: p.groupId === undefined,
      add: mbis(p.add),
      renew: mbis(p.renew),
      remove: mbis(p.remove),
      unchanged: p.unchanged,
    })),
  };
}

/** The plan for people: per practitioner, who is added, renewed and removed, by MBI. Pure. */
function formatPlan(plan: SyncPlan): string {
  const lines: string[] = [];
  const npis = plan.registerPractitioners.map(npiOf);
  if (npis.length > 0) lines.push(`register ${plural(npis.length, 'practitioner')}: ${npis.join(', ')}`);
  if (plan.registerPatients.length > 0) lines.push(`register ${plural(plan.registerPatients.length, 'patient')}`);
  for (const p of plan.practitioners) {
    lines.push(`practitioner ${p.npi} (${p.groupId === undefined ? 'new group' : `group ${inline(p.groupId)}`}):`);
    for (const [verb, members] of [['add', p.add], ['renew', p.renew], ['remove', p.remove]] as const) {
      if (members.length > 0) lines.push(`  ${verb} ${members.length}: ${members.map((m) => inline(m.mbi || m.patientId)).join(' ')}`);
    }
    lines.push(`  unchanged ${p.unchanged}`);
  }
  return lines.join('\n');
}

/** What happened, said once: registrations that happened, then one line per practitioner whose group changed. Pure. */
function formatResult(result: SyncResult | undefined, plan: SyncPlan, changes: number): string {
  if (changes === 0) return result === undefined ? 'dry run: DPC already matches the roster' : 'DPC already matches the roster; nothing changed';
  if (result === undefined) return `${formatPlan(plan)}\ndry run: nothing was sent`;
  const registered = [
    result.registeredPractitioners > 0 ? plural(result.registeredPractitioners, 'practitioner') : '',
    result.registeredPatients > 0 ? plural(result.registeredPatients, 'patient') : '',
  ].filter(Boolean);
  const lines = registered.length > 0 ? [`registered ${registered.join(' and ')}`] : [];
  for (const g of result.groups) {
    const parts = [
      g.added > 0 ? `added ${g.added}` : '',
      g.renewed > 0 ? `renewed ${g.renewed}` : '',
      g.removed > 0 ? `removed ${g.removed}` : '',
    ].filter(Boolean);
    if (g.created) lines.push(`practitioner ${g.npi}: created group ${inline(g.groupId)} with ${plural(g.added, 'member')}`);
    else if (parts.length > 0) lines.push(`practitioner ${g.npi}: group ${inline(g.groupId)}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

const sync: CommandModule<GlobalArgs, SyncArgs> = {
  command: 'sync <file>',
  describe: 'Make DPC match a roster CSV (MBI,NPI[,given,family,birth_date,gender]): register, create groups, add, renew, optionally remove',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('file', { type: 'string', demandOption: true, describe: 'Roster CSV; a header row is optional' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Check the file and print the plan; send nothing' })
      .option('remove-missing', { type: 'boolean', default: false, describe: 'Also remove active members the file no longer lists' })
      .option('patients', { type: 'string', describe: 'Patient bundle used to register MBIs DPC does not know (rows without name/birth date/gender)' })
      .option('practitioners', { type: 'string', describe: 'Practitioner bundle used to register NPIs DPC does not know' })
      .option('within', { type: 'string', default: '14d', describe: 'Renew members whose attribution ends within this window' })
      .example('$0 roster sync roster.csv --dry-run', 'check the file and show the plan')
      .example(
        '$0 roster sync samples/roster-sandbox.csv --patients samples/patient_bundle-dpr.json --practitioners samples/provider_bundle.json',
        'sync the DPC sample roster, registering its practitioners and patients first',
      )
      .example('$0 roster sync roster.csv --remove-missing --json', 'full mirror, machine-readable') as unknown as Argv<SyncArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const input = {
        file: argv.file,
        text: await readRosterFile(argv.file),
        ...(argv.patients ? { patients: { location: argv.patients, json: await readJson(argv.patients) } } : {}),
        ...(argv.practitioners ? { practitioners: { location: argv.practitioners, json: await readJson(argv.practitioners) } } : {}),
      };
      const { plan, result, warnings } = await syncRoster(client, input, {
        dryRun: argv.dryRun,
        removeMissing: argv.removeMissing,
        withinDays: parseDuration(argv.within, 'within') / DAY_MS,
      });
      for (const warning of warnings) output.warn(warning);
      // the plan (dry run) or what was done, once, on stdout: no progress lines repeating it
      const changes = planChanges(plan);
      output.result({ dryRun: argv.dryRun, changes, plan: planSummary(plan), result }, () => formatResult(result, plan, changes));
    }),
};

export const rosterCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(sync)
      .demandCommand(1, 'Name a roster command: sync.')
      .example('$0 roster sync roster.csv --dry-run', 'preview')
      .example('$0 roster sync roster.csv', 'apply'),
  handler: () => {},
};
