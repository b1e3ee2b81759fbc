/**
 * `dpc doctor`: check the whole set-up (config and key files, reachability, clock, token exchange, one authenticated
 * call, key id ↔ private key) and print each result with a fix. The checks run in the library (src/doctor); this
 * command resolves the settings, prints, and exits 1 when a check failed.
 */
import type { CommandModule } from 'yargs';
import type { CheckResult, DoctorReport } from '../../doctor/checks.js';
import { outputFor, redactorKnowing, settingsFor, type GlobalArgs, describeEvent } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { inline } from '../output.js';
import { configPath } from '../config/file.js';
import { DEFAULT_PROFILE, resolveSettings } from '../config/settings.js';
import { isDpcError } from '../../errors.js';
import { cliProcess } from '../cli-process.js';

export const doctorCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  // command and describe: commands/index.ts (this module loads only when the command runs)
  builder: (y) =>
    y
      .example('$0 doctor', 'check the default profile')
      .example('$0 doctor --profile prod --json', 'the same as JSON; exit 1 when a check failed'),
  handler: async (argv) => {
    const output = outputFor(argv);

    const run = cliProcess();
    const path = configPath(run.env, argv.config);
    let settings: Awaited<ReturnType<typeof settingsFor>>['settings'] | undefined;
    let configError: string | undefined;
    try {
      ({ settings } = await settingsFor(argv));
    } catch (error) {
      if (!isDpcError(error)) throw error;
      configError = error.message;
      // the file is unusable: diagnose what flags and environment alone give, if they name a server
      try {
        settings = resolveSettings(argv, run.env, undefined, path);
      } catch {
        settings = undefined;
      }
    }
    const redactor = redactorKnowing(settings);
    // the probes load the HTTP client: not for `dpc doctor --help`
    const { runDoctor } = await import('../../doctor/probe.js');
    const report = await runDoctor({
      profile: settings?.profile ?? argv.profile ?? run.env.DPC_PROFILE ?? DEFAULT_PROFILE,
      baseUrl: settings?.baseUrl,
      configPath: path,
      configError,
      clientToken: settings?.clientToken,
      privateKeyPath: settings?.privateKeyPath,
      passphrase: settings?.passphrase,
      keyId: settings?.keyId,
      accessToken: settings?.accessToken,
      noAuth: settings?.noAuth,
      tokenUrl: settings?.tokenUrl,
      scope: settings?.scope,
      jwtType: settings?.jwtType,
      redactor,
      onEvent: argv.debug ? (event) => output.debugLine(describeEvent(event)) : undefined,
    });
    output.result(report, () => formatReport(report));
    if (!report.ok) run.exitCode = ExitCode.failure;
  },
};

const LABEL: Record<CheckResult['status'], string> = { pass: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** Pure: the human rendering, one line per check plus its fix, and a closing count. */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines = [`dpc doctor: profile ${report.profile ?? '?'}${report.baseUrl ? `, ${report.baseUrl}` : ''}`];
  for (const check of report.checks) {
    lines.push(`  ${LABEL[check.status].padEnd(4)}  ${check.id.padEnd(width)}  ${inline(check.detail)}`);
    if (check.fix) lines.push(`  ${''.padEnd(4)}  ${''.padEnd(width)}  fix: ${inline(check.fix)}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    failed > 0
      ? `${failed} of ${report.checks.length} checks failed${warned > 0 ? `, ${warned} with warnings` : ''}`
      : `all checks passed${warned > 0 ? ` (${warned} with warnings)` : ''}`,
  );
  return lines.join('\n');
}
