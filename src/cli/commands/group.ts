/**
 * `dpc group …`: attribution rosters, one per practitioner. Members may be given as MBIs or patient ids; changes that
 * add members carry an X-Provenance attestation built from your organization and the practitioner (or --provenance).
 */
import type * as fhir3 from 'fhir/r3.js';
import type { Argv, CommandModule } from 'yargs';
import type { DpcClient } from '../../client.js';
import { withClient, type GlobalArgs } from '../context.js';
import { formatTable, inline } from '../output.js';
import { plural } from '../../plural.js';
import { readInputText } from '../../fs.js';
import { attestationFromJson } from '../../fhir/provenance.js';
import { attestationFor, checkMemberRefs, resolvePractitioner, resolvePatientIds, resolveGroup } from '../../fhir/lookup.js';
import { listPatients } from '../../fhir/patients.js';
import { mbiOf, memberPatientId, attributedNpi } from '../../fhir/resources.js';
import { memberStatus } from '../../roster/expiry.js';
import { createGroup, listGroups, addMembers, removeMembers, replaceGroup, deleteGroup } from '../../fhir/groups.js';
import { parseDuration } from '../duration.js';
import { splitList } from '../flag-values.js';
import { findExpiring, renewExpiring } from '../../roster/renew.js';

const DEFAULT_WITHIN = '14d';

/** Attribution dates for people: the day is what matters (JSON output keeps the full instant). */
const day = (instant: string | undefined) => instant?.slice(0, 10);

interface GroupArgs extends GlobalArgs {
  ref: string;
  patients?: string[];
  provenance?: string;
}

const refPositional = (y: Argv<GlobalArgs>) => y.positional('ref', { type: 'string', demandOption: true, describe: 'Practitioner NPI or group id' });
const patientsOption = (y: Argv<GlobalArgs>, required: boolean) =>
  y.option('patients', { type: 'string', array: true, demandOption: required, describe: 'Members as MBIs or patient ids (space or comma separated)' });
const provenanceOption = (y: Argv<GlobalArgs>) =>
  y.option('provenance', { type: 'string', describe: 'Use this Provenance JSON file as the X-Provenance attestation instead of building one' });

/** `--patients A B,C` → [A, B, C], each checked to be an MBI or a patient id before anything is sent. */
function memberRefs(values: readonly string[] | undefined): string[] {
  const refs = splitList(values) ?? [];
  checkMemberRefs(refs);
  return refs;
}

async function attestation(client: DpcClient, npi: string, file: string | undefined): Promise<string> {
  if (file !== undefined) {
    return attestationFromJson(await readInputText(file), file);
  }
  return attestationFor(client, await resolvePractitioner(client, npi));
}

/** Patient id → MBI, from one paged listing rather than one lookup per member. */
async function mbisById(client: DpcClient): Promise<Map<string | undefined, string | undefined>> {
  return new Map((await listPatients(client)).map((p) => [p.id, mbiOf(p)]));
}

/** id, MBI, attribution period (full instants) and status of every member. */
async function memberRows(client: DpcClient, group: fhir3.Group): Promise<Record<string, unknown>[]> {
  const mbis = await mbisById(client);
  return (group.member ?? []).map((m) => {
    const id = memberPatientId(m);
    return { patient: id, mbi: mbis.get(id), start: m.period?.start, end: m.period?.end, status: memberStatus(m, { now: client.now(), withinMs: 0 }) };
  });
}

async function groupSummary(group: fhir3.Group, now: number): Promise<Record<string, unknown>> {
  const active = (group.member ?? []).filter((m) => memberStatus(m, { now, withinMs: 0 }) === 'active').length;
  return { id: group.id, npi: attributedNpi(group), active, inactive: (group.member?.length ?? 0) - active };
}

const GROUP_COLUMNS = ['id', 'npi', 'active', 'inactive'] as const;
const MEMBER_COLUMNS = ['patient', 'mbi', 'start', 'end', 'status'] as const;

interface CreateArgs extends GlobalArgs {
  npi: string;
  patients?: string[];
  provenance?: string;
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create',
  describe: "Create a practitioner's roster (one per practitioner), attested for that practitioner",
  builder: (y) =>
    provenanceOption(patientsOption(y as Argv<GlobalArgs>, false))
      .option('npi', { type: 'string', demandOption: true, describe: 'The practitioner the roster is attributed to' })
      .example('$0 group create --npi 1234329724 --patients 1S00E00AA01 1S00E00AA02', 'roster with two members')
      .example('$0 group create --npi 1234329724', 'empty roster') as unknown as Argv<CreateArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const refs = memberRefs(argv.patients);
      const provenance = await attestation(client, argv.npi, argv.provenance);
      const patientIds = await resolvePatientIds(client, refs);
      const group = await createGroup(client, { npi: argv.npi, patientIds, provenance });
      output.result(group, () => `created group ${inline(group.id)} for NPI ${argv.npi} with ${plural(group.member?.length ?? 0, 'member')}`);
    }),
};

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List the rosters of your organization with active/inactive member counts',
  builder: (y) => y.example('$0 group list', 'one line per practitioner roster').example('$0 group list --json', 'id, NPI, active and inactive counts, and the Group resource of each'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const groups = await listGroups(client);
      const rows = await Promise.all(groups.map((g) => groupSummary(g, client.now())));
      // the counts people see, and the Group resource itself for scripts
      output.result(rows.map((row, i) => ({ ...row, resource: groups[i] })), () => formatTable(rows, GROUP_COLUMNS));
    }),
};

const show: CommandModule<GlobalArgs, GroupArgs> = {
  command: 'show <ref>',
  describe: 'Show a roster and its members with attribution dates',
  builder: (y) =>
    refPositional(y as Argv<GlobalArgs>)
      .example('$0 group show 1234329724', "the roster of practitioner NPI 1234329724")
      .example('$0 group show 1234329724 --json', 'each member with MBI, period and status, and the Group resource') as unknown as Argv<GroupArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const group = await resolveGroup(client, argv.ref);
      const summary = await groupSummary(group, client.now());
      const members = await memberRows(client, group);
      const shown: Record<string, unknown>[] = members.map((m) => ({ ...m, start: day(m.start as string | undefined), end: day(m.end as string | undefined) }));
      output.result({ ...summary, members, resource: group }, () =>
        `group ${inline(group.id)}  NPI ${inline(summary.npi)}  ${String(summary.active)} active, ${String(summary.inactive)} inactive\n${formatTable(shown, MEMBER_COLUMNS)}`,
      );
    }),
};

type Change = 'add' | 'remove' | 'replace';

function changeCommand(change: Change, describe: string, example: [command: string, what: string]): CommandModule<GlobalArgs, GroupArgs> {
  return {
    command: `${change} <ref>`,
    describe,
    builder: (y) => {
      const withRef = patientsOption(refPositional(y as Argv<GlobalArgs>), change !== 'replace');
      return (change === 'remove' ? withRef : provenanceOption(withRef)).example(...example) as unknown as Argv<GroupArgs>;
    },
    handler: (argv) =>
      withClient(argv, async (client, output) => {
        const refs = memberRefs(argv.patients);
        const group = await resolveGroup(client, argv.ref);
        const npi = attributedNpi(group) ?? '';
        const patientIds = await resolvePatientIds(client, refs);
        const body = { npi, patientIds };
        const updated =
          change === 'remove'
            ? await removeMembers(client, group.id!, body)
            : await (change === 'add' ? addMembers : replaceGroup)(client, group.id!, { ...body, provenance: await attestation(client, npi, argv.provenance) });
        const verb = { add: 'added or renewed', remove: 'removed', replace: 'replaced the roster with' }[change];
        output.result(updated, () => `group ${inline(group.id)} (NPI ${inline(npi)}): ${verb} ${plural(patientIds.length, 'member')}`);
      }),
  };
}

const deleteGroupCommand: CommandModule<GlobalArgs, GroupArgs> = {
  command: 'delete <ref>',
  describe: 'Delete a roster',
  builder: (y) => refPositional(y as Argv<GlobalArgs>).example('$0 group delete 1234329724', "delete the practitioner's roster") as unknown as Argv<GroupArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const group = await resolveGroup(client, argv.ref);
      await deleteGroup(client, group.id!);
      output.result({ deleted: group.id }, () => `deleted group ${inline(group.id)}`);
    }),
};

interface WithinArgs extends GlobalArgs {
  within: string;
  dryRun?: boolean;
  includeInactive?: boolean;
}

const withinOption = (y: Argv<GlobalArgs>) =>
  y.option('within', { type: 'string', default: DEFAULT_WITHIN, describe: 'Window ahead, e.g. 14d, 36h' });

/** The due members with their MBIs, per practitioner. */
async function expiringReport(client: DpcClient, groups: import('../../roster/expiry.js').ExpiringGroup[]) {
  const mbis = groups.length > 0 ? await mbisById(client) : new Map<string, string>();
  return groups.map((g) => ({ ...g, members: g.members.map((m) => ({ ...m, mbi: mbis.get(m.patientId) })) }));
}

const DUE_COLUMNS = ['mbi', 'patientId', 'status', 'start', 'end'] as const;
/** After a renewal the status that made a member due is history: show it as `was` next to the new period. */
const RENEWED_COLUMNS = ['mbi', 'patientId', 'was', 'start', 'end'] as const;

function formatExpiring(report: Awaited<ReturnType<typeof expiringReport>>, verb: string, columns: typeof DUE_COLUMNS | typeof RENEWED_COLUMNS): string {
  if (report.length === 0) return 'no members are due for renewal';
  return report
    .map((g) => {
      const rows = g.members.map((m) => ({ ...m, was: m.status, start: day(m.start), end: day(m.end) }));
      return `practitioner ${inline(g.npi)} (group ${inline(g.groupId)}): ${plural(g.members.length, 'member')} ${verb}\n${formatTable(rows, columns)}`;
    })
    .join('\n\n');
}

const expiring: CommandModule<GlobalArgs, WithinArgs> = {
  command: 'expiring',
  describe: 'List members whose attribution ends within the window or already ended, per practitioner',
  builder: (y) =>
    withinOption(y as Argv<GlobalArgs>)
      .example('$0 group expiring', 'members ending in the next 14 days or inactive')
      .example('$0 group expiring --within 30d --json', 'a wider window, as JSON') as unknown as Argv<WithinArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const report = await expiringReport(client, await findExpiring(client, parseDuration(argv.within, 'within')));
      output.result(report, () => formatExpiring(report, 'due', DUE_COLUMNS));
    }),
};

const renew: CommandModule<GlobalArgs, WithinArgs> = {
  command: 'renew',
  describe: 'Re-attest and renew (with $add, to now+90 days) every member ending within the window; cron-friendly',
  builder: (y) =>
    withinOption(y as Argv<GlobalArgs>)
      .option('dry-run', { type: 'boolean', default: false, describe: 'Only show what would be renewed' })
      .option('include-inactive', {
        type: 'boolean',
        default: false,
        describe: 'Also re-attest inactive members; DPC cannot tell lapsed from removed ones, so prefer `roster sync` for those',
      })
      .example('$0 group renew', 'renew everything due in the next 14 days')
      .example('$0 group renew --within 30d --dry-run', 'preview a wider window') as unknown as Argv<WithinArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      let inactiveLeft = 0;
      const renewed = await renewExpiring(client, {
        withinMs: parseDuration(argv.within, 'within'),
        includeInactive: argv.includeInactive,
        dryRun: argv.dryRun,
        onInactiveLeft: (groups) => (inactiveLeft = groups.reduce((n, g) => n + g.members.length, 0)),
      });
      if (inactiveLeft > 0) {
        output.warn(`${plural(inactiveLeft, 'inactive member')} left alone (lapsed or removed: DPC does not say which); renew them with roster sync, or with --include-inactive`);
      }
      const report = await expiringReport(client, renewed);
      output.result({ dryRun: argv.dryRun ?? false, groups: report, inactiveLeft }, () =>
        argv.dryRun ? formatExpiring(report, 'would be renewed', DUE_COLUMNS) : formatExpiring(report, 'renewed', RENEWED_COLUMNS),
      );
    }),
};

export const groupCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(create)
      .command(list)
      .command(show)
      .command(changeCommand('add', 'Add members, or renew existing ones to now+90 days (attested)', ['$0 group add 1234329724 --patients 1S00E00AA01 1S00E00AA02', 'attest and add two patients to the roster of NPI 1234329724 (renews them if already members)']))
      .command(changeCommand('remove', 'Remove members (they become inactive, end date now)', ['$0 group remove 1234329724 --patients 1S00E00AA01', 'end the attribution of patient 1S00E00AA01 to NPI 1234329724 now']))
      .command(changeCommand('replace', 'Replace the whole membership (attested); every member restarts now', ['$0 group replace 1234329724 --patients 1S00E00AA01', 'make 1S00E00AA01 the only member of the roster of NPI 1234329724']))
      .command(deleteGroupCommand)
      .command(expiring)
      .command(renew)
      .demandCommand(1, 'Name a group command: create, list, show, add, remove, replace, delete, expiring or renew.')
      .example('$0 group create --npi 1234329724 --patients 1S00E00AA01', 'start a roster')
      .example('$0 group renew --within 14d', 'weekly re-attribution'),
  handler: () => {},
};
