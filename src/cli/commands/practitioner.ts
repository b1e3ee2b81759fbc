/** `dpc practitioner add|submit|list|get|delete` (DPC /Practitioner). */
import type * as fhir3 from 'fhir/r3.js';
import type { Argv, CommandModule } from 'yargs';
import { DpcError } from '../../errors.js';
import { withClient, type GlobalArgs } from '../context.js';
import { formatTable } from '../output.js';
import { lookupCommands, practitionerRow, readJson, register, submitCommand, validateCommand, type Registrar } from './fhir-common.js';
import { createPractitioner, deletePractitioner, submitPractitioners, listPractitioners } from '../../fhir/practitioners.js';
import { resolvePractitioner } from '../../fhir/lookup.js';
import { buildPractitioner, resourcesOfType } from '../../fhir/resources.js';

const COLUMNS = ['id', 'npi', 'name'] as const;

async function registrar(): Promise<Registrar<fhir3.Practitioner>> {
  return {
    noun: 'practitioner',
    columns: COLUMNS,
    row: practitionerRow,
    key: (p) => `NPI ${String(practitionerRow(p).npi)}`,
    create: createPractitioner,
    submit: submitPractitioners,
    resolve: resolvePractitioner,
    remove: deletePractitioner,
  };
}

interface AddArgs extends GlobalArgs {
  file?: string;
  npi?: string;
  given?: string;
  family?: string;
}

const add: CommandModule<GlobalArgs, AddArgs> = {
  command: 'add [file]',
  describe: 'Register a practitioner from a Practitioner JSON file or from --npi --given --family (an existing NPI is returned as is)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('file', { type: 'string', describe: 'Practitioner JSON file (or a Bundle of them, sent with $submit)' })
      .option('npi', { type: 'string', describe: 'National Provider Identifier (10 digits)' })
      .option('given', { type: 'string', describe: 'Given (first) name' })
      .option('family', { type: 'string', describe: 'Family (last) name' })
      .example('$0 practitioner add --npi 1234329724 --given Leonard --family Klocko', 'register one practitioner')
      .example('$0 practitioner add practitioner.json', 'register the practitioner in a file') as Argv<AddArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      if (argv.file !== undefined) {
        const resources = resourcesOfType<fhir3.Practitioner>(await readJson(argv.file), 'Practitioner', argv.file);
        return register(client, output, await registrar(), argv.file, resources, false);
      }
      if (!argv.npi || !argv.given || !argv.family) throw new DpcError('ERR_USAGE', 'give a Practitioner file, or all of --npi, --given and --family');
      await register(client, output, await registrar(), 'command line', [buildPractitioner({ npi: argv.npi, given: argv.given, family: argv.family })], false);
    }),
};

const submit = submitCommand<fhir3.Practitioner>({
  resourceType: 'Practitioner',
  plural: 'practitioners',
  example: ['$0 practitioner submit samples/provider_bundle.json', 'register the four sample practitioners'],
  registrar,
});

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List the practitioners of your organization',
  builder: (y) => y.example('$0 practitioner list', 'table of id, NPI and name').example('$0 practitioner list --json', 'the resources as JSON'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const all = await listPractitioners(client);
      output.result(all, () => formatTable(all.map(practitionerRow), COLUMNS));
    }),
};

const validate = validateCommand<fhir3.Practitioner>({
  resourceType: 'Practitioner',
  plural: 'practitioners',
  example: ['$0 practitioner validate samples/provider_bundle.json', 'check the four sample practitioners, offline and with DPC'],
  registrar,
});

const [get, remove] = lookupCommands<fhir3.Practitioner>({
  registrar,
  identifier: 'npi',
  refDescribe: 'NPI (10 digits) or practitioner id',
  getDescribe: 'Show one practitioner by NPI or id',
  getExamples: [
    ['$0 practitioner get 1234329724', 'look up by NPI'],
    ['$0 practitioner get 0c527d2e-2e8a-4808-b11d-0fa06baf8254 --json', 'by id, as JSON'],
  ],
  deleteDescribe: 'Delete a practitioner (DPC deletes their roster too)',
  deleteExample: ['$0 practitioner delete 1234329724', 'remove by NPI'],
  deletedSuffix: ' and their roster',
});

export const practitionerCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(add)
      .command(submit)
      .command(list)
      .command(get)
      .command(remove)
      .command(validate)
      .demandCommand(1, 'Name a practitioner command: add, submit, list, get, delete or validate.')
      .example('$0 practitioner add --npi 1234329724 --given Leonard --family Klocko', 'register one')
      .example('$0 practitioner list', 'show all'),
  handler: () => {},
};
