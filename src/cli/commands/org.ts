/** `dpc org show|update`: the organization the client token belongs to. */
import type * as fhir3 from 'fhir/r3.js';
import type { Argv, CommandModule } from 'yargs';
import { DpcError } from '../../errors.js';
import { withClient, type GlobalArgs } from '../context.js';
import { inline } from '../output.js';
import { objectsIn } from '../../json.js';
import { joinStrings, readJson } from './fhir-common.js';
import { getOrganization, applyOrganizationChanges, updateOrganization } from '../../fhir/organization.js';
import { NPI_SYSTEM } from '../../shared/identifiers.js';

/** Pure: the organization as `org show` prints it. */
function orgText(org: fhir3.Organization, npiSystem: string): string {
  // the server's resource: only the strings of its identifier and address are shown, whatever else they hold
  const npi = objectsIn(org.identifier).find((i) => i.system === npiSystem)?.value;
  const address = objectsIn(org.address)[0];
  const parts = [...(Array.isArray(address?.line) ? address.line : []), address?.city, address?.state, address?.postalCode, address?.country];
  return [`id       ${inline(org.id)}`, `name     ${inline(org.name)}`, `npi      ${inline(npi)}`, `address  ${inline(joinStrings(parts, ', '))}`].join('\n');
}

const show: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'show',
  describe: 'Show your organization (id, name, NPI, address)',
  builder: (y) => y.example('$0 org show', 'the organization of the configured client token').example('$0 org show --json', 'the Organization resource as JSON'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const org = await getOrganization(client);
      output.result(org, () => orgText(org, NPI_SYSTEM));
    }),
};

interface UpdateArgs extends GlobalArgs {
  file?: string;
  name?: string;
  addressLine?: string[];
  addressCity?: string;
  addressState?: string;
  addressPostalCode?: string;
  addressCountry?: string;
}

const update: CommandModule<GlobalArgs, UpdateArgs> = {
  command: 'update [file]',
  describe: 'Change your organization: read it, apply an Organization file and/or the flags, check the DPC profile, PUT it',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('file', { type: 'string', describe: 'Organization JSON file replacing the current resource (flags apply on top)' })
      .option('name', { type: 'string', describe: 'Organization name' })
      .option('address-line', { type: 'string', array: true, describe: 'Street line(s); replace the current ones' })
      .option('address-city', { type: 'string', describe: 'City' })
      .option('address-state', { type: 'string', describe: 'State, e.g. MD' })
      .option('address-postal-code', { type: 'string', describe: 'ZIP code' })
      .option('address-country', { type: 'string', describe: 'Country, e.g. US' })
      .example('$0 org update --address-line "7500 Security Blvd" --address-city Baltimore --address-state MD --address-postal-code 21244', 'move')
      .example('$0 org update org.json --json', 'replace with the Organization in a file, print the result as JSON') as unknown as Argv<UpdateArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const changes = {
        name: argv.name,
        addressLines: argv.addressLine?.map(String),
        city: argv.addressCity,
        state: argv.addressState,
        postalCode: argv.addressPostalCode,
        country: argv.addressCountry,
      };
      const fromFile = argv.file === undefined ? undefined : organizationIn(await readJson(argv.file), argv.file);
      if (fromFile === undefined && Object.values(changes).every((v) => v === undefined)) {
        throw new DpcError('ERR_USAGE', 'give an Organization file or at least one of --name, --address-line, --address-city, --address-state, --address-postal-code, --address-country');
      }
      const current = await getOrganization(client);
      if (fromFile?.id !== undefined && fromFile.id !== current.id) {
        throw new DpcError('ERR_INPUT', `${argv.file}: id ${JSON.stringify(fromFile.id)} is not your organization (${current.id}); DPC lets you update only your own`, { field: 'id' });
      }
      const updated = await updateOrganization(client, applyOrganizationChanges({ ...(fromFile ?? current), id: current.id }, changes));
      output.result(updated, () => `updated\n${orgText(updated, NPI_SYSTEM)}`);
    }),
};

/** The Organization a user's file holds (the resource itself, not a Bundle). */
function organizationIn(json: unknown, file: string): fhir3.Organization {
  const resource = json as { resourceType?: unknown } | null;
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource) || resource.resourceType !== 'Organization') {
    throw new DpcError('ERR_INPUT', `${file}: expected an Organization resource`, { field: 'file' });
  }
  return json as fhir3.Organization;
}

export const orgCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(show)
      .command(update)
      .demandCommand(1, 'Name an org command: show or update.')
      .example('$0 org show', 'who am I?')
      .example('$0 org update --name "Example Clinic"', 'rename'),
  handler: () => {},
};
