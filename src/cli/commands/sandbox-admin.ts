/**
 * `dpc sandbox clock …` and `dpc sandbox fault …`: time travel and fault injection on a running `--test-mode`
 * sandbox, through its admin contract (src/sandbox/admin-contract.ts). Moving the clock moves attribution periods and
 * job expiry while JWT checks keep real time, so `dpc group expiring` / `renew` rehearse the 90-day lapse.
 */
import type { Argv, CommandModule } from 'yargs';
import { DpcError } from '../../errors.js';
import { escapeControl, jsonForTerminal } from '../../escape.js';
import { SandboxAdminError, sandboxClock, sandboxFaults, type ClockRequest, type ClockResponse, type FaultsRequest } from '../../sandbox/admin-contract.js';
import { outputFor, settingsFor, type GlobalArgs } from '../context.js';
import { parseDuration } from '../duration.js';

interface AdminArgs extends GlobalArgs {
  sandboxUrl?: string;
}

const DEFAULT_ORIGIN = 'http://127.0.0.1:3002';
const DAY_MS = 86_400_000;

/** Pure: the clock request for `advance <duration>`, `set <ISO time>` or `reset`; ERR_USAGE names the bad value. */
export function clockRequestFor(action: 'advance' | 'set' | 'reset', value: string | undefined): ClockRequest {
  if (action === 'reset') return { reset: true };
  if (value === undefined) throw new DpcError('ERR_USAGE', action === 'advance' ? 'advance: give a duration, e.g. 91d or 12h' : 'set: give a time, e.g. 2027-03-01 or 2027-03-01T09:00:00Z');
  if (action === 'advance') {
    // a leading minus moves the clock back
    const back = value.startsWith('-');
    const ms = parseDuration(back ? value.slice(1) : value, 'advance');
    return { advanceMs: back ? -ms : ms };
  }
  const at = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw new DpcError('ERR_USAGE', `set: invalid time ${JSON.stringify(value)} (use e.g. 2027-03-01 or 2027-03-01T09:00:00Z)`, { field: 'set' });
  return { set: at };
}

/** Pure: the faults in a `fault set` argument (a JSON object); the sandbox checks each fault's fields. */
export function faultsFromJson(text: string): FaultsRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DpcError('ERR_USAGE', `fault set: not JSON: ${JSON.stringify(text.slice(0, 80))} (e.g. '{"wrongChecksum":{"fileIncludes":"patient"}}')`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
    throw new DpcError('ERR_USAGE', 'fault set: expected a JSON object naming at least one fault (use `dpc sandbox fault clear` to clear)');
  }
  return value as FaultsRequest;
}

/** Pure: how far the sandbox clock is from real time, e.g. `+91d 0h`, `-2h`, `real time`. */
export function clockOffset(ms: number): string {
  // whole minutes: the request's own round trip must not turn +91d into +90d 23h
  const abs = Math.round(Math.abs(ms) / 60_000) * 60_000;
  if (abs === 0) return 'real time';
  const sign = ms < 0 ? '-' : '+';
  const days = Math.floor(abs / DAY_MS);
  const hours = Math.floor((abs % DAY_MS) / 3_600_000);
  const minutes = (abs % 3_600_000) / 60_000;
  return days > 0 ? `${sign}${days}d ${hours}h` : `${sign}${hours}h ${minutes}m`;
}

/** `--sandbox-url`, else the origin of the profile's base URL, else the default `dpc sandbox start` address. */
async function originFor(argv: AdminArgs): Promise<string> {
  const raw = argv.sandboxUrl ?? (await settingsFor(argv)).settings.baseUrl ?? DEFAULT_ORIGIN;
  try {
    return new URL(raw).origin;
  } catch {
    throw new DpcError('ERR_USAGE', `sandbox URL ${JSON.stringify(raw)} is not a URL (e.g. ${DEFAULT_ORIGIN})`);
  }
}

/** Runs an admin call, turning the sandbox's refusals into one-line CLI errors. */
async function admin<T>(origin: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof SandboxAdminError) {
      if (error.status === 404) throw new DpcError('ERR_CONFIG', `the sandbox at ${origin} is not in test mode (start it with \`dpc sandbox start --test-mode\`)`);
      throw new DpcError(error.status === 400 ? 'ERR_USAGE' : 'ERR_HTTP', `the sandbox refused: ${escapeControl(error.serverMessage)}`, { status: error.status });
    }
    throw new DpcError('ERR_NETWORK', escapeControl((error as Error).message), { cause: error });
  }
}

function clockLine(clock: ClockResponse): string {
  return `sandbox clock ${clock.iso} (${clockOffset(clock.now - Date.now())})`;
}

const sandboxUrlOption = { type: 'string', describe: `The test-mode sandbox (default: the profile's base URL, else ${DEFAULT_ORIGIN})` } as const;

interface ClockArgs extends AdminArgs {
  action: 'show' | 'advance' | 'set' | 'reset';
  value?: string;
}

export const clockCommand: CommandModule<GlobalArgs, ClockArgs> = {
  command: 'clock <action> [value]',
  describe: 'Show or move a test-mode sandbox clock (attribution periods, job expiry; JWT checks keep real time)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('action', { choices: ['show', 'advance', 'set', 'reset'] as const, describe: 'show | advance <duration> | set <time> | reset' })
      .positional('value', { type: 'string', describe: 'advance: 91d, 12h, 1d12h (-1d goes back); set: 2027-03-01 or 2027-03-01T09:00:00Z' })
      .option('sandbox-url', sandboxUrlOption)
      .example('$0 sandbox clock advance 91d', 'attribution lapses: `dpc group expiring` lists the members, `dpc group renew --include-inactive` renews them')
      .example('$0 sandbox clock set 2027-03-01', 'jump to a date')
      .example('$0 sandbox clock reset', 'back to real time') as unknown as Argv<ClockArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);
    const request = argv.action === 'show' ? undefined : clockRequestFor(argv.action, argv.value);
    if (argv.action === 'show' && argv.value !== undefined) throw new DpcError('ERR_USAGE', `show takes no value, got ${JSON.stringify(argv.value)}`);
    const origin = await originFor(argv);
    const clock = await admin(origin, () => sandboxClock(origin, request));
    output.result(clock, () => clockLine(clock));
  },
};

interface FaultArgs extends AdminArgs {
  action: 'show' | 'set' | 'clear';
  faults?: string;
}

export const faultCommand: CommandModule<GlobalArgs, FaultArgs> = {
  command: 'fault <action> [faults]',
  describe: 'Show, set or clear the faults of a test-mode sandbox (throttle, cutAtByte, truncateBy, wrongChecksum, slowFirstByteMs, everythingTimeout)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('action', { choices: ['show', 'set', 'clear'] as const, describe: 'show | set <JSON> | clear' })
      .positional('faults', { type: 'string', describe: 'set: the faults as JSON (README "Sandbox admin API")' })
      .option('sandbox-url', sandboxUrlOption)
      .example(`$0 sandbox fault set '{"wrongChecksum":{"fileIncludes":"patient"}}'`, 'the next export\'s Patient files fail verification')
      .example(`$0 sandbox fault set '{"throttle":{"status":429,"count":2}}'`, 'the next two API requests are throttled')
      .example('$0 sandbox fault clear', 'no faults') as unknown as Argv<FaultArgs>,
  handler: async (argv) => {
    const output = outputFor(argv);
    if (argv.action !== 'set' && argv.faults !== undefined) throw new DpcError('ERR_USAGE', `${argv.action} takes no value, got ${JSON.stringify(argv.faults)}`);
    if (argv.action === 'set' && argv.faults === undefined) throw new DpcError('ERR_USAGE', `fault set: give the faults as JSON, e.g. '{"wrongChecksum":{"fileIncludes":"patient"}}'`);
    const request = argv.action === 'set' ? faultsFromJson(argv.faults!) : argv.action === 'clear' ? {} : undefined;
    const origin = await originFor(argv);
    const faults = await admin(origin, () => sandboxFaults(origin, request));
    output.result(faults, () => (Object.keys(faults).length === 0 ? 'no faults' : `faults in force: ${jsonForTerminal(faults)}`));
  },
};
