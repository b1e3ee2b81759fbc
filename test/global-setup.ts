/**
 * Once per test run (vitest globalSetup):
 * - generates the RSA-4096 key pairs every test shares (`testKey(i)` in test/keys.ts), instead of ~2 s of CPU per
 *   key in each file that needs one;
 * - points TMPDIR (so os.tmpdir() in the workers and in the CLI processes they start) at a folder of this run, and
 *   at teardown fails the run if any test left a dpc-* file or folder in it (every test removes its temp folders).
 */
import { generateKeyPair } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

/** Distinct keys, because the sandbox refuses one public key registered twice. */
export const TEST_KEY_COUNT = 3;

declare module 'vitest' {
  export interface ProvidedContext {
    /** PKCS#8 PEM of each shared RSA-4096 private key. */
    rsaKeys: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runTemp = await mkdtemp(join(tmpdir(), 'dpc-test-run-'));
  const outerTmp = process.env.TMPDIR;
  process.env.TMPDIR = runTemp;
  const keys = await Promise.all(
    Array.from({ length: TEST_KEY_COUNT }, () => promisify(generateKeyPair)('rsa', { modulusLength: 4096 })),
  );
  project.provide('rsaKeys', keys.map(({ privateKey }) => privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()));

  return async () => {
    // every temp name of the tests and the CLI starts with dpc-; vitest keeps its own cache folder here too
    const left = (await readdir(runTemp)).filter((name) => name.startsWith('dpc-'));
    await rm(runTemp, { recursive: true, force: true });
    if (outerTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outerTmp;
    if (left.length > 0) throw new Error(`the tests left ${left.length} temp entr${left.length === 1 ? 'y' : 'ies'} behind: ${left.sort().join(', ')}`);
  };
}
