/**
 * `dpc auth token|assertion|validate`: the SMART backend-services flow by hand, for curl users and for debugging
 * a rejected assertion. The only commands that print a credential to stdout, and only on explicit request.
 */
import type { Argv, CommandModule } from 'yargs';
import { settingsFor, withClient, type GlobalArgs } from '../context.js';
import { cliProcess } from '../cli-process.js';
import { DpcError } from '../../errors.js';
import { validateAssertion } from '../../auth/admin.js';

const token: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'token',
  describe: 'Exchange a fresh client assertion for an access token and print it (valid 5 minutes)',
  builder: (y) =>
    y
      .example('$0 auth token', 'print a bearer token for the default profile')
      .example('curl -H "Authorization: Bearer $(dpc auth token)" -H "Accept: application/fhir+json" https://sandbox.dpc.cms.gov/api/v1/Organization', 'use it with curl')
      .example('$0 auth token --json', 'print {access_token, token_type, expires_in, scope}'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      const result = await client.tokens.exchange();
      // raw: the user asked for the secret itself; Output.result would redact it
      output.raw(
        argv.json
          ? JSON.stringify({ access_token: result.accessToken, token_type: result.tokenType, expires_in: result.expiresIn, scope: result.scope })
          : result.accessToken,
      );
      output.info(`access token valid for ${result.expiresIn}s`);
    }),
};

const assertion: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'assertion',
  describe: 'Print a signed client assertion (RS384 JWT, ES384 with a P-384 key for a generic server; fresh jti, expires in 290 s)',
  builder: (y) =>
    y
      .example('$0 auth assertion', 'print a JWT to POST to /Token/auth yourself')
      .example('$0 auth assertion | $0 auth validate -', 'check it against /Token/validate'),
  handler: (argv) =>
    withClient(argv, async (client, output) => {
      output.raw(await client.tokens.createAssertion());
    }),
};

interface ValidateArgs extends GlobalArgs {
  jwt?: string;
}

const validate: CommandModule<GlobalArgs, ValidateArgs> = {
  command: 'validate [jwt]',
  describe: 'Check a client assertion with /Token/validate and explain every failed claim',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('jwt', { type: 'string', describe: 'The assertion to check, or - to read it from stdin; default: sign a new one' })
      .example('$0 auth validate', 'sign an assertion with the configured key and check it')
      .example('$0 auth validate - < assertion.jwt', 'check an assertion made by another tool') as Argv<ValidateArgs>,
  handler: async (argv) => {
    // yargs hands a lone `-` positional over as ''
    const given = argv.jwt === '-' || argv.jwt === '' ? (await readStdin()).trim() : argv.jwt;
    const { settings } = await settingsFor(argv);
    if (settings.tokenUrl !== undefined || settings.noAuth) {
      const server = settings.noAuth ? 'an open server (auth "none")' : `a generic SMART server (token URL ${settings.tokenUrl})`;
      throw new DpcError('ERR_USAGE', `/Token/validate is a DPC-only endpoint; profile "${settings.profile}" talks to ${server}: inspect an assertion with \`dpc auth assertion\` instead`);
    }
    await withClient(
      argv,
      async (client, output) => {
        const jwt = given ?? (await client.tokens.createAssertion());
        const result = await validateAssertion(client, jwt);
        const lines = result.problems.map((p) => `${p.claim}: ${p.message}`);
        if (result.valid && lines.length === 0) {
          output.result(result, () => 'assertion is valid: /Token/validate accepted it and every claim checks out');
          return;
        }
        if (argv.json) output.result(result, () => '');
        if (result.valid) {
          throw new DpcError('ERR_AUTH', `/Token/validate accepted the assertion, but /Token/auth will refuse it: ${lines[0]}`, { details: lines.slice(1) });
        }
        throw new DpcError('ERR_AUTH', `/Token/validate rejected the assertion: ${result.serverMessage ?? 'no reason given'}`, { details: lines });
      },
      { credentials: given === undefined },
    );
  },
};

export const authCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .command(token)
      .command(assertion)
      .command(validate)
      .demandCommand(1, 'Name an auth command: token, assertion or validate.')
      .example('$0 auth token', 'print an access token for curl')
      .example('$0 auth validate', 'explain why an assertion is refused'),
  handler: () => {},
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of cliProcess().stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
