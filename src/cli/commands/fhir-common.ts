/**
 * Shared by the org/practitioner/patient/group/roster commands: reading user JSON files, local profile checks before
 * anything is sent, and table rows for people.
 */
import type * as fhir3 from 'fhir/r3.js';
import type { Argv, CommandModule } from 'yargs';
import type { DpcClient } from '../../client.js';
import { DpcError } from '../../errors.js';
import { mbiOf, npiOf, resourcesOfType } from '../../fhir/resources.js';
import { withClient, type GlobalArgs } from '../context.js';
import { formatTable, inline, type Output } from '../output.js';
import { plural } from '../../plural.js';
import { objectsIn } from '../../json.js';
import { readInputText } from '../../fs.js';
import { entryProblems, inputRejected } from '../../fhir/validate.js';
import { outcomeErrors, validateOnServer } from '../../fhir/server-validate.js';

export async function readJson(path: string): Promise<unknown> {
  const text = await readInputText(path);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new DpcError('ERR_INPUT', `${path}: not valid JSON (${(cause as Error).message})`, { cause, location: path });
  }
}

/** Pure: the parts of a server's value that are non-empty strings, joined; whatever else it holds is not shown. */
export function joinStrings(parts: readonly unknown[], separator: string): string {
  return parts.filter((part): part is string => typeof part === 'string' && part !== '').join(separator);
}

function displayName(names: fhir3.HumanName[] | undefined): string {
  const name = objectsIn(names)[0];
  const given = Array.isArray(name?.given) ? name.given : [];
  return joinStrings([...given, name?.family], ' ');
}

export function practitionerRow(p: fhir3.Practitioner): Record<string, unknown> {
  return { id: p.id, npi: npiOf(p), name: displayName(p.name) };
}

export function patientRow(p: fhir3.Patient): Record<string, unknown> {
  return { id: p.id, mbi: mbiOf(p), name: displayName(p.name), birthDate: p.birthDate, gender: p.gender };
}

/** How the commands handle one kind of resource: register one or a bundle, find one, delete one, show them. */
export interface Registrar<T extends fhir3.Practitioner | fhir3.Patient> {
  noun: string;
  columns: readonly string[];
  row(resource: T): Record<string, unknown>;
  /** `NPI 1234329724` / `MBI 1S00E00AA01` */
  key(resource: T): string;
  create(client: DpcClient, resource: T): Promise<{ created: boolean; resource: T }>;
  submit(client: DpcClient, resources: readonly T[]): Promise<T[]>;
  /** By identifier (NPI, MBI) or id. */
  resolve(client: DpcClient, ref: string): Promise<T>;
  remove(client: DpcClient, id: string): Promise<void>;
}

/** Check every resource against the DPC profile first (nothing is sent if one fails), then POST one or `$submit` several. */
export async function register<T extends fhir3.Practitioner | fhir3.Patient>(
  client: DpcClient,
  output: Output,
  registrar: Registrar<T>,
  location: string,
  resources: T[],
  bundle: boolean,
): Promise<void> {
  const problems = entryProblems(location, resources, client.now());
  if (problems.length > 0) throw inputRejected(location, problems);
  if (bundle || resources.length > 1) {
    const saved = await registrar.submit(client, resources);
    output.result(saved, () => formatTable(saved.map((r) => registrar.row(r)), registrar.columns));
    output.footer(`${plural(saved.length, registrar.noun)} registered or already present`);
    return;
  }
  const { created, resource } = await registrar.create(client, resources[0]!);
  output.result({ created, resource }, () => `${created ? 'registered' : 'already registered'}: ${registrar.noun} ${inline(resource.id)} (${inline(registrar.key(resource))})`);
}

/** `dpc practitioner|patient submit <bundle>`: register many with $submit; the two differ only in what they name. */
export function submitCommand<T extends fhir3.Practitioner | fhir3.Patient>(options: {
  resourceType: T['resourceType'];
  plural: string;
  example: [command: string, description: string];
  registrar: () => Promise<Registrar<T>>;
}): CommandModule<GlobalArgs, GlobalArgs & { bundle: string }> {
  return {
    command: 'submit <bundle>',
    describe: `Register many ${options.plural} at once with $submit (a Bundle, or the Parameters wrapper DPC samples use)`,
    builder: (y) =>
      (y as Argv<GlobalArgs>)
        .positional('bundle', { type: 'string', demandOption: true, describe: `JSON file: Parameters→Bundle or a Bundle of ${options.resourceType}s` })
        .example(...options.example) as Argv<GlobalArgs & { bundle: string }>,
    handler: (argv) =>
      withClient(argv, async (client, output) => {
        const resources = resourcesOfType<T>(await readJson(argv.bundle), options.resourceType, argv.bundle);
        await register(client, output, await options.registrar(), argv.bundle, resources, true);
      }),
  };
}

/**
 * `dpc practitioner|patient validate <file>`: the offline profile checks first (nothing is sent if one fails), then
 * DPC's `$validate` for each resource (200 OperationOutcome, nothing stored). Errors the server finds end the command
 * with exit 2, one line per problem.
 */
export function validateCommand<T extends fhir3.Practitioner | fhir3.Patient>(options: {
  resourceType: T['resourceType'];
  plural: string;
  example: [command: string, description: string];
  registrar: () => Promise<Registrar<T>>;
}): CommandModule<GlobalArgs, GlobalArgs & { file: string }> {
  return {
    command: 'validate <file>',
    describe: `Check ${options.plural} against the DPC profile: offline, then with DPC's $validate (nothing is stored)`,
    builder: (y) =>
      (y as Argv<GlobalArgs>)
        .positional('file', { type: 'string', demandOption: true, describe: `JSON file: a ${options.resourceType}, a Bundle of them or a $submit Parameters` })
        .example(...options.example) as Argv<GlobalArgs & { file: string }>,
    handler: (argv) =>
      withClient(argv, async (client, output) => {
        const resources = resourcesOfType<T>(await readJson(argv.file), options.resourceType, argv.file);
        const problems = entryProblems(argv.file, resources, client.now());
        if (problems.length > 0) throw inputRejected(argv.file, problems);
        const registrar = await options.registrar();
        const results: Array<{ entry: number; key: string; errors: string[]; outcome: fhir3.OperationOutcome }> = [];
        // one at a time: a file may hold a hundred resources, and DPC's firewall counts requests
        for (const [i, resource] of resources.entries()) {
          const outcome = await validateOnServer(client, resource);
          results.push({ entry: i + 1, key: registrar.key(resource), errors: outcomeErrors(outcome), outcome });
        }
        const failed = results.filter((r) => r.errors.length > 0);
        output.result(results, () =>
          [
            ...results.map((r) => `${r.errors.length === 0 ? 'ok  ' : 'FAIL'}  entry ${r.entry} (${inline(r.key)})${r.errors.length === 0 ? '' : `: ${inline(r.errors.join('; '))}`}`),
            `${results.length - failed.length} of ${plural(results.length, registrar.noun)} conform to the DPC profile`,
          ].join('\n'),
        );
        if (failed.length > 0) {
          throw new DpcError('ERR_UNPROCESSABLE', `${argv.file}: DPC's $validate found problems in ${failed.length} of ${plural(results.length, registrar.noun)}`, {
            details: failed.flatMap((r) => r.errors.map((e) => `${argv.file}: entry ${r.entry} (${r.key}): ${e}`)),
          });
        }
      }),
  };
}

interface RefArgs extends GlobalArgs {
  ref: string;
}

/**
 * `dpc practitioner|patient get <ref>` and `delete <ref>`: one resource found by its identifier or id. The two kinds
 * differ only in what they name and in the identifier column (`npi`, `mbi`) the deletion reports.
 */
export function lookupCommands<T extends fhir3.Practitioner | fhir3.Patient>(options: {
  registrar: () => Promise<Registrar<T>>;
  identifier: 'npi' | 'mbi';
  refDescribe: string;
  getDescribe: string;
  getExamples: ReadonlyArray<[command: string, description: string]>;
  deleteDescribe: string;
  deleteExample: [command: string, description: string];
  /** Said after `deleted practitioner ID (NPI …)`, e.g. ` and their roster`. */
  deletedSuffix?: string;
}): [get: CommandModule<GlobalArgs, RefArgs>, remove: CommandModule<GlobalArgs, RefArgs>] {
  const refPositional = (y: Argv<GlobalArgs>) => y.positional('ref', { type: 'string', demandOption: true, describe: options.refDescribe }) as Argv<RefArgs>;
  const get: CommandModule<GlobalArgs, RefArgs> = {
    command: 'get <ref>',
    describe: options.getDescribe,
    builder: (y) => options.getExamples.reduce((argv, example) => argv.example(...example), refPositional(y as Argv<GlobalArgs>)),
    handler: (argv) =>
      withClient(argv, async (client, output) => {
        const registrar = await options.registrar();
        const resource = await registrar.resolve(client, argv.ref);
        output.result(resource, () => formatTable([registrar.row(resource)], registrar.columns));
      }),
  };
  const remove: CommandModule<GlobalArgs, RefArgs> = {
    command: 'delete <ref>',
    describe: options.deleteDescribe,
    builder: (y) => refPositional(y as Argv<GlobalArgs>).example(...options.deleteExample),
    handler: (argv) =>
      withClient(argv, async (client, output) => {
        const registrar = await options.registrar();
        const resource = await registrar.resolve(client, argv.ref);
        await registrar.remove(client, resource.id!);
        output.result({ deleted: resource.id, [options.identifier]: registrar.row(resource)[options.identifier] }, () =>
          `deleted ${registrar.noun} ${inline(resource.id)} (${inline(registrar.key(resource))})${options.deletedSuffix ?? ''}`,
        );
      }),
  };
  return [get, remove];
}
