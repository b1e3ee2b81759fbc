/**
 * The top-level commands. Each command's module is imported once, lazily, when that command runs or shows its help:
 * `dpc --help` needs only the names and descriptions here, so it loads none of them. A command module may therefore
 * import what its handlers need at the top.
 */
import type { Argv, CommandModule } from 'yargs';

type Module = CommandModule<any, any>;

/** `command`/`describe` here; builder and handler from the module, loaded on first use. */
function lazy(command: string, describe: string, load: () => Promise<Module>): Module {
  return {
    command,
    describe,
    builder: async (yargs: Argv) => {
      const { builder } = await load();
      if (typeof builder === 'function') return builder(yargs);
      return builder ? yargs.options(builder) : yargs;
    },
    handler: async (argv) => (await load()).handler(argv),
  };
}

export const commands: Module[] = [
  lazy('init', 'Create or update a profile in the config file (client token, private key, key id)', async () => (await import('./init.js')).initCommand),
  lazy('doctor', 'Check config, key, network, clock and credentials, with a fix for each problem', async () => (await import('./doctor.js')).doctorCommand),
  lazy('auth <command>', 'Access tokens and client assertions (SMART backend services)', async () => (await import('./auth.js')).authCommand),
  lazy('keys <command>', 'Key pairs: generate locally, register public keys with DPC', async () => (await import('./keys.js')).keysCommand),
  lazy('tokens <command>', 'Client tokens of your organization', async () => (await import('./tokens.js')).tokensCommand),
  lazy('ip <command>', 'IP allow-list of your organization (production accepts calls only from these)', async () => (await import('./ip.js')).ipCommand),
  lazy('export <command>', 'Bulk export: run, status, download, verify, cancel, tables', async () => (await import('./export.js')).exportCommand),
  lazy('org <command>', 'Your organization', async () => (await import('./org.js')).orgCommand),
  lazy('practitioner <command>', 'Practitioners of your organization', async () => (await import('./practitioner.js')).practitionerCommand),
  lazy('patient <command>', 'Patients of your organization', async () => (await import('./patient.js')).patientCommand),
  lazy('group <command>', 'Attribution rosters (one Group per practitioner) and 90-day renewals', async () => (await import('./group.js')).groupCommand),
  lazy('roster <command>', 'Keep DPC attribution rosters in step with a CSV', async () => (await import('./roster.js')).rosterCommand),
  lazy('sandbox <command>', 'Run the embedded offline DPC sandbox server', async () => (await import('./sandbox.js')).sandboxCommand),
  lazy(
    'demo',
    'Run the whole DPC journey on an embedded sandbox: keys, token, roster, verified export (no account, no network)',
    async () => (await import('./demo.js')).demoCommand,
  ),
  lazy('query <dir> <sql>', 'Run SQL over the claims tables of an export (built or refreshed first) or of a tables folder', async () => (await import('./tables.js')).queryCommand),
];
