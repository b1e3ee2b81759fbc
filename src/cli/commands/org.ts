/** `dpc org show`: the organization the client token belongs to. */
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { withClient } from './fhir-common.js';

const show: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'show',
  describe: 'Show your organization (id, name, NPI, address)',
  builder: (y) => y.example('$0 org show', 'the organization of the configured client token').example('$0 org show --json', 'the Organization resource as JSON'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const { getOrganization } = await import('../../fhir/organization.js');
      const { NPI_SYSTEM } = await import('../../shared/identifiers.js');
      const org = await getOrganization(client);
      const npi = org.identifier?.find((i) => i.system === NPI_SYSTEM)?.value;
      const address = org.address?.[0];
      const where = address ? [...(address.line ?? []), address.city, address.state, address.postalCode].filter(Boolean).join(', ') : '';
      output.result(org, () => [`id       ${org.id}`, `name     ${org.name ?? ''}`, `npi      ${npi ?? ''}`, `address  ${where}`].join('\n'));
    }),
};

export const orgCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) => y.command(show).demandCommand(1, 'Name an org command: show.').example('$0 org show', 'who am I?'),
  handler: () => {},
};
