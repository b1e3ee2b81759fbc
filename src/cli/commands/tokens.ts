/** `dpc tokens list|show|create|delete`: the organization's client tokens (DPC /Token). */
import type { Argv, CommandModule } from 'yargs';
import { withClient, type GlobalArgs } from '../context.js';
import { formatTable, inline } from '../output.js';
import { listClientTokens, createClientToken, getClientToken, deleteClientToken } from '../../auth/admin.js';
import { writeOwnerOnly } from '../../fs.js';
import { jsonForTerminal } from '../../escape.js';

const COLUMNS = ['id', 'label', ['createdAt', 'Created'], ['expiresAt', 'Expires']] as const;

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List client tokens (their values are never shown again after creation)',
  builder: (y) => y.example('$0 tokens list', 'table of ids, labels and expiry').example('$0 tokens list --json', 'the same as JSON'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const tokens = await listClientTokens(client);
      output.result(tokens, () => formatTable(tokens, COLUMNS));
    }),
};

interface CreateArgs extends GlobalArgs {
  label?: string;
  expires?: string;
  out?: string;
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create',
  describe: 'Create a client token; its value is printed (or written with --out) this one time only',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .option('label', { type: 'string', describe: 'A name for the token' })
      .option('expires', { type: 'string', describe: 'Expiry date or date-time, at most a year ahead (default: a year)' })
      .option('out', { type: 'string', describe: 'Write the token value to this file (mode 0600) instead of stdout' })
      .example('$0 tokens create --label ci --expires 2026-12-31', 'print a new token')
      .example('$0 tokens create --label ci --out ~/.config/dpc/ci.token', 'keep it in an owner-only file') as Argv<CreateArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const created = await createClientToken(client, { label: argv.label, expiresAt: argv.expires });
      const { token, ...entity } = created;
      if (argv.out !== undefined) {
        await writeOwnerOnly(argv.out, `${token ?? ''}\n`);
        output.result({ ...entity, file: argv.out }, () => `created client token ${inline(entity.id)} (expires ${inline(entity.expiresAt ?? '?')}); value written to ${argv.out}`);
        return;
      }
      // raw: printing the new token is the point of this command; everything else goes through redaction
      output.raw(argv.json ? jsonForTerminal(created, 2) : (token ?? ''));
      output.info(`created client token ${inline(entity.id)} (expires ${inline(entity.expiresAt ?? '?')}); store it now, DPC never shows it again`);
    }),
};

interface IdArgs extends GlobalArgs {
  id: string;
}

const show: CommandModule<GlobalArgs, IdArgs> = {
  command: 'show <id>',
  describe: 'Show one client token by id (label, created, expiry; never its value)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('id', { type: 'string', demandOption: true, describe: 'Token id from `dpc tokens list`' })
      .example('$0 tokens show 3fa85f64-5717-4562-b3fc-2c963f66afa6', 'when does it expire?')
      .example('$0 tokens show 3fa85f64-5717-4562-b3fc-2c963f66afa6 --json', 'the entity as JSON') as Argv<IdArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const token = await getClientToken(client, argv.id);
      output.result(token, () => formatTable([token], COLUMNS));
    }),
};

const remove: CommandModule<GlobalArgs, IdArgs> = {
  command: 'delete <id>',
  describe: 'Delete a client token (its access tokens stop working)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('id', { type: 'string', demandOption: true, describe: 'Token id from `dpc tokens list`' })
      .example('$0 tokens delete 3fa85f64-5717-4562-b3fc-2c963f66afa6', 'revoke a token') as Argv<IdArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      await deleteClientToken(client, argv.id);
      output.result({ deleted: argv.id }, () => `deleted client token ${argv.id}`);
    }),
};

export const tokensCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(list)
      .command(show)
      .command(create)
      .command(remove)
      .demandCommand(1, 'Name a tokens command: list, show, create or delete.')
      .example('$0 tokens list', 'show client tokens')
      .example('$0 tokens create --label ci', 'make a new one'),
  handler: () => {},
};
