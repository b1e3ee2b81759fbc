/** `dpc patient add|submit|list|get|delete` (DPC /Patient). */
import type * as fhir3 from 'fhir/r3.js';
import type { Argv, CommandModule } from 'yargs';
import { DpcError } from '../../errors.js';
import { withClient, type GlobalArgs } from '../context.js';
import { formatTable } from '../output.js';
import { plural } from '../../plural.js';
import { everythingCommand, patientExportCommand } from './patient-data.js';
import { lookupCommands, patientRow, readJson, register, submitCommand, validateCommand, type Registrar } from './fhir-common.js';
import { createPatient, deletePatient, submitPatients, listPatients, applyPatientChanges, updatePatient } from '../../fhir/patients.js';
import { resolvePatient } from '../../fhir/lookup.js';
import { buildPatient, resourcesOfType } from '../../fhir/resources.js';
import { normalizeGender } from '../../fhir/validate.js';

const COLUMNS = ['id', 'mbi', 'name', 'birthDate', 'gender'] as const;

async function registrar(): Promise<Registrar<fhir3.Patient>> {
  return {
    noun: 'patient',
    columns: COLUMNS,
    row: patientRow,
    key: (p) => `MBI ${String(patientRow(p).mbi)}`,
    create: createPatient,
    submit: submitPatients,
    resolve: resolvePatient,
    remove: deletePatient,
  };
}

interface AddArgs extends GlobalArgs {
  file?: string;
  mbi?: string;
  given?: string;
  family?: string;
  birthDate?: string;
  gender?: string;
}

const add: CommandModule<GlobalArgs, AddArgs> = {
  command: 'add [file]',
  describe: 'Register a patient from a Patient JSON file or from flags (an existing MBI is returned as is)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('file', { type: 'string', describe: 'Patient JSON file (or a Bundle of them, sent with $submit)' })
      .option('mbi', { type: 'string', describe: 'Medicare Beneficiary Identifier, e.g. 1S00E00AA01' })
      .option('given', { type: 'string', describe: 'Given (first) name' })
      .option('family', { type: 'string', describe: 'Family (last) name' })
      .option('birth-date', { type: 'string', describe: 'Birth date YYYY-MM-DD' })
      .option('gender', { type: 'string', describe: 'male, female, other or unknown' })
      .example('$0 patient add --mbi 1S00E00AA01 --given Ann --family Lee --birth-date 1950-01-02 --gender female', 'register one patient')
      .example('$0 patient add patient.json', 'register the patient in a file') as Argv<AddArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      if (argv.file !== undefined) {
        const resources = resourcesOfType<fhir3.Patient>(await readJson(argv.file), 'Patient', argv.file);
        return register(client, output, await registrar(), argv.file, resources, false);
      }
      const { mbi, given, family, birthDate, gender } = argv;
      if (!mbi || !given || !family || !birthDate || !gender) {
        throw new DpcError('ERR_USAGE', 'give a Patient file, or all of --mbi, --given, --family, --birth-date and --gender');
      }
      // an unknown gender is kept as typed so the profile check names it
      const patient = buildPatient({ mbi, given, family, birthDate, gender: normalizeGender(gender) ?? (gender as fhir3.Patient['gender']) });
      await register(client, output, await registrar(), 'command line', [patient], false);
    }),
};

const submit = submitCommand<fhir3.Patient>({
  resourceType: 'Patient',
  plural: 'patients',
  example: ['$0 patient submit samples/patient_bundle-dpr.json', 'register the 100 sandbox sample patients'],
  registrar,
});

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List every patient of your organization (all pages)',
  builder: (y) => y.example('$0 patient list', 'table of id, MBI, name, birth date, gender').example('$0 patient list --json', 'the resources as JSON'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const all = await listPatients(client);
      output.result(all, () => formatTable(all.map(patientRow), COLUMNS));
      output.footer(plural(all.length, 'patient'));
    }),
};

const validate = validateCommand<fhir3.Patient>({
  resourceType: 'Patient',
  plural: 'patients',
  example: ['$0 patient validate patient.json', 'check a Patient offline, then with DPC'],
  registrar,
});

interface UpdateArgs extends GlobalArgs {
  ref: string;
  file?: string;
  given?: string;
  family?: string;
  birthDate?: string;
  gender?: string;
}

const update: CommandModule<GlobalArgs, UpdateArgs> = {
  command: 'update <ref> [file]',
  describe: 'Fix a patient\'s demographics (DPC changes only names, birth date and gender): from a Patient file and/or flags',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('ref', { type: 'string', demandOption: true, describe: 'MBI or patient id' })
      .positional('file', { type: 'string', describe: 'Patient JSON file replacing the current resource (flags apply on top)' })
      .option('given', { alias: 'first-name', type: 'string', describe: 'Given (first) name' })
      .option('family', { alias: 'last-name', type: 'string', describe: 'Family (last) name' })
      .option('birth-date', { type: 'string', describe: 'Birth date YYYY-MM-DD' })
      .option('gender', { type: 'string', describe: 'male, female, other or unknown' })
      .example('$0 patient update 1S00E00AA01 --birth-date 1950-01-02', 'correct a birth date')
      .example('$0 patient update 1S00E00AA01 --first-name Ann --last-name Lee --json', 'fix the name, print the resource') as unknown as Argv<UpdateArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const { given, family, birthDate, gender } = argv;
      if (argv.file === undefined && [given, family, birthDate, gender].every((v) => v === undefined)) {
        throw new DpcError('ERR_USAGE', 'give a Patient file or at least one of --given, --family, --birth-date, --gender');
      }
      const fromFile = argv.file === undefined ? undefined : resourcesOfType<fhir3.Patient>(await readJson(argv.file), 'Patient', argv.file);
      if (fromFile !== undefined && fromFile.length !== 1) {
        throw new DpcError('ERR_INPUT', `${argv.file}: holds ${fromFile.length} patients; update takes one`, { field: 'file' });
      }
      const current = await resolvePatient(client, argv.ref);
      // an unknown gender is kept as typed so the profile check names it
      const changes = { given, family, birthDate, gender: gender === undefined ? undefined : (normalizeGender(gender) ?? (gender as fhir3.Patient['gender'])) };
      const updated = await updatePatient(client, applyPatientChanges({ ...(fromFile?.[0] ?? current), id: current.id }, changes));
      output.result(updated, () => `updated\n${formatTable([patientRow(updated)], COLUMNS)}`);
    }),
};

const [get, remove] = lookupCommands<fhir3.Patient>({
  registrar,
  identifier: 'mbi',
  refDescribe: 'MBI or patient id',
  getDescribe: 'Show one patient by MBI or id',
  getExamples: [
    ['$0 patient get 1S00E00AA01', 'look up by MBI'],
    ['$0 patient get 1S00E00AA01 --json', 'the resource as JSON'],
  ],
  deleteDescribe: 'Delete a patient (DPC removes them from every group too)',
  deleteExample: ['$0 patient delete 1S00E00AA01', 'remove by MBI'],
});

export const patientCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(add)
      .command(submit)
      .command(list)
      .command(get)
      .command(remove)
      .command(update)
      .command(validate)
      .command(everythingCommand)
      .command(patientExportCommand)
      .demandCommand(1, 'Name a patient command: add, submit, list, get, delete, update, validate, everything or export.')
      .example('$0 patient submit samples/patient_bundle-dpr.json', 'register many')
      .example('$0 patient everything 1S00E00AA01 --practitioner 1232131239 --out visit.json', 'point of care: claims now')
      .example('$0 patient list', 'show all'),
  handler: () => {},
};
