/**
 * Shared by the org/practitioner/patient/group/roster commands: a client for the duration of a handler, reading
 * user JSON files, local profile checks before anything is sent, and table rows for people.
 * Only the tiny pure `fhir/resources` is imported eagerly (it needs nothing beyond errors.js, which main loads
 * anyway); clients and everything doing I/O load inside handlers so `dpc --help` stays fast.
 */
import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import type { DpcClient } from '../../client.js';
import { DpcError } from '../../errors.js';
import { mbiOf, npiOf } from '../../fhir/resources.js';
import { outputFor, clientFor, type GlobalArgs } from '../context.js';
import { formatTable, type Output } from '../output.js';

export async function withClient(argv: GlobalArgs, run: (client: DpcClient, output: Output) => Promise<void>): Promise<void> {
  const output = outputFor(argv);
  const client = await clientFor(argv, output);
  try {
    await run(client, output);
  } finally {
    await client.close();
  }
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DpcError('ERR_INPUT', `${path}: cannot read the file (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`, { cause, location: path });
  }
}

export async function readJson(path: string): Promise<unknown> {
  const text = await readText(path);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new DpcError('ERR_INPUT', `${path}: not valid JSON (${(cause as Error).message})`, { cause, location: path });
  }
}

export function displayName(names: fhir3.HumanName[] | undefined): string {
  const name = names?.[0];
  return [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
}

export function practitionerRow(p: fhir3.Practitioner): Record<string, unknown> {
  return { id: p.id, npi: npiOf(p), name: displayName(p.name) };
}

export function patientRow(p: fhir3.Patient): Record<string, unknown> {
  return { id: p.id, mbi: mbiOf(p), name: displayName(p.name), birthDate: p.birthDate, gender: p.gender };
}

/** How `add` and `submit` register one kind of resource: send one, send a bundle, show the result. */
export interface Registrar<T extends fhir3.Practitioner | fhir3.Patient> {
  noun: string;
  columns: readonly string[];
  row(resource: T): Record<string, unknown>;
  /** `NPI 1234329724` / `MBI 1S00E00AA01` */
  key(resource: T): string;
  create(client: DpcClient, resource: T): Promise<{ created: boolean; resource: T }>;
  submit(client: DpcClient, resources: readonly T[]): Promise<T[]>;
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
  const { entryProblems, inputRejected } = await import('../../fhir/validate.js');
  const problems = entryProblems(location, resources, client.now());
  if (problems.length > 0) throw inputRejected(location, problems);
  if (bundle || resources.length > 1) {
    const saved = await registrar.submit(client, resources);
    output.result(saved, () => `${formatTable(saved.map((r) => registrar.row(r)), registrar.columns)}\n${saved.length} ${registrar.noun}(s) registered or already present`);
    return;
  }
  const { created, resource } = await registrar.create(client, resources[0]!);
  output.result({ created, resource }, () => `${created ? 'registered' : 'already registered'}: ${registrar.noun} ${resource.id} (${registrar.key(resource)})`);
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
        const { resourcesOfType } = await import('../../fhir/resources.js');
        const resources = resourcesOfType<T>(await readJson(argv.bundle), options.resourceType, argv.bundle);
        await register(client, output, await options.registrar(), argv.bundle, resources, true);
      }),
  };
}
