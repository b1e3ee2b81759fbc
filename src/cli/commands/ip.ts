/** `dpc ip list|add|delete`: the organization's IP allow-list (DPC /IpAddress, at most 8 addresses). */
import type { Argv, CommandModule } from 'yargs';
import { withClient, type GlobalArgs } from '../context.js';
import { formatTable, inline } from '../output.js';
import { listIpAddresses, MAX_IP_ADDRESSES, addIpAddress, deleteIpAddress } from '../../auth/ip-addresses.js';

const COLUMNS = ['id', 'address', 'createdAt'] as const;

const row = (e: { id: string; ipAddress?: { address?: string }; createdAt?: string }) => ({ id: e.id, address: e.ipAddress?.address, createdAt: e.createdAt });

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List the public IP addresses your organization calls the API from',
  builder: (y) => y.example('$0 ip list', 'table of ids and addresses').example('$0 ip list --json', 'the same as JSON'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const all = await listIpAddresses(client);
      output.result(all, () => `${formatTable(all.map(row), COLUMNS)}\n${all.length} of ${MAX_IP_ADDRESSES} address(es)`);
    }),
};

interface AddArgs extends GlobalArgs {
  address: string;
}

const add: CommandModule<GlobalArgs, AddArgs> = {
  command: 'add <address>',
  describe: 'Allow one more public IPv4 or IPv6 address (at most 8; no ranges)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('address', { type: 'string', demandOption: true, describe: 'A single IPv4 or IPv6 address' })
      .example('$0 ip add 203.0.113.7', "allow your server's public address") as Argv<AddArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const added = await addIpAddress(client, String(argv.address));
      output.result(added, () => `added ${inline(added.ipAddress?.address ?? argv.address)} (id ${inline(added.id)})`);
    }),
};

interface IdArgs extends GlobalArgs {
  id: string;
}

const remove: CommandModule<GlobalArgs, IdArgs> = {
  command: 'delete <id>',
  describe: 'Remove an address from the allow-list by its id (see `dpc ip list`)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('id', { type: 'string', demandOption: true, describe: 'Address id from `dpc ip list`' })
      .example('$0 ip delete 3fa85f64-5717-4562-b3fc-2c963f66afa6', 'stop allowing that address') as Argv<IdArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      await deleteIpAddress(client, argv.id);
      output.result({ deleted: argv.id }, () => `deleted IP address ${argv.id}`);
    }),
};

export const ipCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(list)
      .command(add)
      .command(remove)
      .demandCommand(1, 'Name an ip command: list, add or delete.')
      .example('$0 ip add 203.0.113.7', 'allow an address')
      .example('$0 ip list', 'show the allow-list'),
  handler: () => {},
};
