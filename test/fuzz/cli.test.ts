/**
 * A representative sample (20) of the fuzzed bad input through the CLI (runCli) against an in-process seeded sandbox:
 * the documented exit code, one `error:` line on stderr (detail lines indented under it), nothing on stdout, no stack
 * trace, and the sandbox's organization unchanged afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listGroups } from '../../src/fhir/groups.js';
import { listPatients } from '../../src/fhir/patients.js';
import { listPractitioners } from '../../src/fhir/practitioners.js';
import { runCli } from '../cli/run-cli.js';
import { removeTempDirs, tempDir } from '../export/sandbox.js';
import { rosterFixture, type RosterFixture } from '../roster/fixture.js';
import { pemSources, STACK_LINE } from './check.js';
import { bundleCase, configCase, manifestCase, pemCase, prng, rosterCase, stateCase, type FuzzCase } from './gen/index.js';

let fx: RosterFixture;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fx = await rosterFixture();
  dir = await tempDir('dpc-fuzz-cli-');
  const seed = fx.sandbox.seed!;
  env = {
    HOME: dir,
    DPC_CONFIG: join(dir, 'no-config.json'),
    DPC_BASE_URL: fx.sandbox.baseUrl,
    DPC_CLIENT_TOKEN: seed.clientToken,
    DPC_PRIVATE_KEY: seed.privateKeyPath,
    DPC_KEY_ID: seed.keyId,
  };
}, 30_000);

afterAll(async () => {
  await fx?.close();
  await removeTempDirs();
});

interface CliCase {
  c: FuzzCase;
  /** The command, given the path of the written file. */
  args: (path: string) => string[];
  env?: (path: string) => Record<string, string>;
}

function sample(): CliCase[] {
  const r = prng(0xc11_0006);
  const cases: CliCase[] = [];
  for (let n = 1; n <= 5; n++) cases.push({ c: rosterCase(r, n), args: (p) => ['roster', 'sync', p] });
  for (let n = 1; n <= 3; n++) cases.push({ c: bundleCase(r, n, 'Patient'), args: (p) => ['patient', 'submit', p] });
  for (let n = 1; n <= 2; n++) cases.push({ c: bundleCase(r, n, 'Practitioner'), args: (p) => ['practitioner', 'submit', p] });
  const keys = pemSources(fx.privateKeyPem);
  for (let n = 1; n <= 3; n++) cases.push({ c: pemCase(r, n, keys), args: () => ['org', 'show'], env: (p) => ({ DPC_PRIVATE_KEY: p }) });
  for (let n = 1; n <= 4; n++) cases.push({ c: configCase(r, n), args: (p) => ['org', 'show', '--config', p] });
  for (let n = 1; n <= 2; n++) cases.push({ c: manifestCase(r, n), args: (p) => ['export', 'verify', join(p, '..')] });
  cases.push({ c: stateCase(r, 1), args: (p) => ['export', 'status', join(p, '..')] });
  return cases;
}

async function organization(): Promise<number[]> {
  const [patients, practitioners, groups] = await Promise.all([listPatients(fx.client), listPractitioners(fx.client), listGroups(fx.client)]);
  return [patients.length, practitioners.length, groups.length];
}

describe('bad input through the CLI', () => {
  it('20 generated cases: documented exit code, one error line, no stack, nothing written', async () => {
    const cases = sample();
    expect(cases).toHaveLength(20);
    const before = await organization();
    const failures: string[] = [];
    // a few at a time: each is a full node start-up
    for (let i = 0; i < cases.length; i += 5) {
      await Promise.all(
        cases.slice(i, i + 5).map(async ({ c, args, env: extra }, j) => {
          // each case in its own folder: verify and status take the folder
          const folder = join(dir, `case-${i + j}`);
          await mkdir(folder, { recursive: true });
          const path = join(folder, c.file);
          // owner-only, as a key file should be: a readable key earns a warning line before the error
          await writeFile(path, c.content, { mode: 0o600 });
          const result = await runCli(args(path), { env: { ...env, ...extra?.(path) } });
          const lines = result.stderr.replace(/\n$/, '').split('\n');
          const problems = [
            result.code !== c.exitCode && `exit ${result.code} instead of ${c.exitCode}`,
            !lines[0]!.startsWith('error: ') && 'stderr does not start with "error: "',
            lines.slice(1).some((l) => !l.startsWith('  ')) && 'more than one unindented stderr line',
            !lines.some((l) => l.includes(c.where) && c.problem.test(l.slice(l.indexOf(c.where)))) && `"${c.where}" and ${c.problem} not named`,
            result.stdout !== '' && 'something on stdout',
            (STACK_LINE.test(result.stderr) || STACK_LINE.test(result.stdout)) && 'a stack trace',
          ].filter(Boolean);
          if (problems.length > 0) failures.push(`${c.id} (dpc ${args('FILE').join(' ')}): ${problems.join(', ')}; stderr: ${result.stderr.slice(0, 300)}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(await organization()).toEqual(before);
    expect(fx.client.counts.writes).toBe(0);
  }, 60_000);
});
