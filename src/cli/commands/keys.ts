/**
 * `dpc keys generate|add|list|show|delete`: the guide's three openssl steps (genrsa 4096, pubout, dgst -sha256
 * over the snippet | base64) in one command, and the organization's public keys (DPC /Key).
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { outputFor, settingsFor, withClient, type GlobalArgs } from '../context.js';
import { formatTable, inline } from '../output.js';
import { generateKeyPair, privateKeyPem, publicKeyPem, signSnippet } from '../../auth/keys.js';
import { fileExists, writeOwnerOnly, readInputText } from '../../fs.js';
import { DpcError } from '../../errors.js';
import { uploadPublicKey, listPublicKeys, getPublicKey, deletePublicKey } from '../../auth/admin.js';

const PRIVATE_FILE = 'private.pem';
const PUBLIC_FILE = 'public.pem';
const SIGNATURE_FILE = 'signature.txt';

interface GenerateArgs extends GlobalArgs {
  out: string;
  force: boolean;
}

const generate: CommandModule<GlobalArgs, GenerateArgs> = {
  command: 'generate',
  describe: `Create an RSA-4096 key pair and the snippet signature DPC asks for (${PRIVATE_FILE} 0600, ${PUBLIC_FILE}, ${SIGNATURE_FILE})`,
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .option('out', { type: 'string', default: '.', describe: 'Directory for the three files (created 0700 if missing)' })
      .option('force', { type: 'boolean', default: false, describe: 'Overwrite existing files' })
      .example('$0 keys generate --out ~/.config/dpc/keys', 'make the files to paste into the DPC portal')
      .example('$0 keys generate --out keys && $0 keys add --public-key keys/public.pem', 'rotate: make and upload a new key') as Argv<GenerateArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);
    const dir = resolve(argv.out);
    const paths = { privateKey: join(dir, PRIVATE_FILE), publicKey: join(dir, PUBLIC_FILE), signature: join(dir, SIGNATURE_FILE) };
    if (!argv.force) {
      for (const path of Object.values(paths)) {
        if (await fileExists(path)) throw new DpcError('ERR_USAGE', `${path} already exists; use --force to replace it or --out another directory`, { location: path });
      }
    }
    output.info('generating an RSA-4096 key pair…');
    const { privateKey } = await generateKeyPair();
    await writeOwnerOnly(paths.privateKey, privateKeyPem(privateKey));
    await writeFile(paths.publicKey, publicKeyPem(privateKey), { mode: 0o644 });
    await writeFile(paths.signature, `${signSnippet(privateKey)}\n`, { mode: 0o644 });
    output.result(paths, () =>
      [
        `private key  ${paths.privateKey} (mode 0600; keep it secret)`,
        `public key   ${paths.publicKey}`,
        `signature    ${paths.signature}`,
        `next: paste the public key and signature into the DPC portal, or run \`dpc keys add --public-key ${paths.publicKey}\``,
      ].join('\n'),
    );
  },
};

interface AddArgs extends GlobalArgs {
  publicKey: string;
  signature?: string;
  label?: string;
}

const add: CommandModule<GlobalArgs, AddArgs> = {
  command: 'add',
  describe: 'Upload a public key with its snippet signature; prints the key id (the JWT kid)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .option('public-key', { type: 'string', demandOption: true, describe: `Public key PEM (${PUBLIC_FILE})` })
      .option('signature', { type: 'string', describe: `Base64 snippet signature file (default: ${SIGNATURE_FILE} beside the public key)` })
      .option('label', { type: 'string', describe: 'Up to 25 characters, unique in your organization' })
      .example('$0 keys add --public-key keys/public.pem --label laptop', 'upload the files from `dpc keys generate --out keys`')
      .example('$0 keys add --public-key pub.pem --signature sig.txt --json', 'upload and print the new key as JSON') as unknown as Argv<AddArgs>,
  handler: async (argv) => {
    const signaturePath = argv.signature ?? join(dirname(argv.publicKey), SIGNATURE_FILE);
    const publicKeyPem = await readInputText(argv.publicKey, 'public key');
    const signature = await readInputText(signaturePath, argv.signature === undefined ? 'signature (give --signature)' : 'signature');
    await withClient(argv, async (client, output) => {
      const key = await uploadPublicKey(client, { publicKeyPem, signature, label: argv.label, source: argv.publicKey });
      const { settings } = await settingsFor(argv);
      // the key id only works with the private key of the uploaded public key (else 401), so the hint names both
      const privateKeyPath = resolve(dirname(argv.publicKey), PRIVATE_FILE);
      const privateKeyArg = (await fileExists(privateKeyPath)) ? shellWord(privateKeyPath) : `<private key of ${shellWord(argv.publicKey)}>`;
      output.result(key, () =>
        [
          `uploaded public key ${inline(key.id)}${key.label ? ` (${inline(key.label)})` : ''}`,
          `next: sign with it: dpc init --profile ${shellWord(settings.profile)} --key-id ${inline(key.id)} --private-key ${privateKeyArg}`,
        ].join('\n'),
      );
    });
  },
};

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List the public keys registered for your organization',
  builder: (y) => y.example('$0 keys list', 'ids, labels, creation dates').example('$0 keys list --json', 'with the PEMs, as JSON'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const keys = await listPublicKeys(client);
      output.result(keys, () => formatTable(keys, ['id', 'label', ['createdAt', 'Created']]));
    }),
};

interface IdArgs extends GlobalArgs {
  id: string;
}

const show: CommandModule<GlobalArgs, IdArgs> = {
  command: 'show <id>',
  describe: 'Show one public key and its PEM',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('id', { type: 'string', demandOption: true, describe: 'Key id from `dpc keys list`' })
      .example('$0 keys show 3fa85f64-5717-4562-b3fc-2c963f66afa6', 'print the key') as Argv<IdArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const key = await getPublicKey(client, argv.id);
      output.result(key, () => `id       ${inline(key.id)}\nlabel    ${inline(key.label)}\ncreated  ${inline(key.createdAt)}\n${key.publicKey}`);
    }),
};

const remove: CommandModule<GlobalArgs, IdArgs> = {
  command: 'delete <id>',
  describe: 'Delete a public key (assertions signed with it stop working)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('id', { type: 'string', demandOption: true, describe: 'Key id from `dpc keys list`' })
      .example('$0 keys delete 3fa85f64-5717-4562-b3fc-2c963f66afa6', 'remove an old key after rotating') as Argv<IdArgs>,
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      await deletePublicKey(client, argv.id);
      output.result({ deleted: argv.id }, () => `deleted public key ${argv.id}`);
    }),
};

export const keysCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(generate)
      .command(add)
      .command(list)
      .command(show)
      .command(remove)
      .demandCommand(1, 'Name a keys command: generate, add, list, show or delete.')
      .example('$0 keys generate --out keys', 'new RSA-4096 pair + signature')
      .example('$0 keys list', 'registered public keys'),
  handler: () => {},
};

/** A path or name as one shell word, for copy-paste hints. */
function shellWord(value: string): string {
  return /^[\w./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
