/**
 * Fuzzed bad input, in-process (issue #6): over 1,000 deterministic malformed files across roster CSVs, patient and
 * practitioner bundles, PEM private keys, config files, export manifests, job completion bodies and export state
 * files. Each goes through the library function the CLI uses and must fail with a DpcError of the documented code
 * and exit code whose one-line message (or detail line) names the location and the problem; the CLI rendering of it
 * must be one `error:` line (plus indented detail lines) and no stack. Roster and bundle input runs against a seeded
 * sandbox through a client that counts requests: none that writes may be sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { privateKeyFor, settingsFor } from '../../src/cli/context.js';
import { Output } from '../../src/cli/output.js';
import { exportStatus, parseCompletion, verifyExportDir } from '../../src/export/index.js';
import { isValidMbi, isValidNpi } from '../../src/fhir/validate.js';
import { syncRoster } from '../../src/roster/sync.js';
import { removeTempDirs, tempDir } from '../export/sandbox.js';
import { rosterFixture, type RosterFixture } from '../roster/fixture.js';
import { failureOf, pemSources, summarise } from './check.js';
import { bundleCase, completionCase, configCase, manifestCase, pemCase, prng, rosterCase, stateCase, validMbi, validNpi, type FuzzCase, type PemSources, type Random } from './gen/index.js';

const SEED = 0x5eed_0006;

let fx: RosterFixture;
let keys: PemSources;
let dir: string;
const quiet = new Output({ json: false, debug: false, stderr: new Writable({ write: (_c, _e, done) => done() }) });

beforeAll(async () => {
  fx = await rosterFixture();
  keys = pemSources(fx.privateKeyPem);
  dir = await tempDir('dpc-fuzz-');
  fx.client.reset();
}, 30_000);

afterAll(async () => {
  await fx?.close();
  await removeTempDirs();
});

/** Run `count` generated cases through `attempt`; every failure is listed by mutation kind, and none may send a write. */
async function fuzz(seed: number, count: number, make: (r: Random, n: number) => FuzzCase, attempt: (c: FuzzCase, n: number) => Promise<unknown>): Promise<void> {
  const r = prng(seed);
  const failures: Array<{ c: FuzzCase; why: string }> = [];
  for (let n = 1; n <= count; n++) {
    const c = make(r, n);
    let error: unknown;
    try {
      await attempt(c, n);
    } catch (e) {
      error = e;
    }
    const why = failureOf(c, error);
    if (why) failures.push({ c, why });
  }
  expect(summarise(failures)).toEqual([]);
  expect(fx.client.counts.writePaths).toEqual([]);
}

async function fileFor(c: FuzzCase, sub: string): Promise<string> {
  const folder = join(dir, sub);
  await mkdir(folder, { recursive: true });
  const path = join(folder, c.file);
  await writeFile(path, c.content);
  return path;
}

describe('the generators', () => {
  it('make valid MBIs and NPIs to start from', () => {
    const r = prng(SEED);
    for (let i = 0; i < 500; i++) {
      expect(isValidMbi(validMbi(r))).toBe(true);
      expect(isValidNpi(validNpi(r))).toBe(true);
    }
  });
});

describe('malformed input fails in one located line with exit 2 and sends nothing', () => {
  it('roster CSVs (400)', async () => {
    await fuzz(SEED + 1, 400, rosterCase, (c) => syncRoster(fx.client, { file: c.file, text: c.content }));
  });

  it('patient bundles (170)', async () => {
    const row = `${validMbi(prng(1))},${validNpi(prng(1))}`;
    await fuzz(SEED + 2, 170, (r, n) => bundleCase(r, n, 'Patient'), (c) =>
      syncRoster(fx.client, { file: 'roster.csv', text: row, patients: { location: c.file, json: JSON.parse(c.content) } }),
    );
  });

  it('practitioner bundles (130)', async () => {
    const row = `${validMbi(prng(2))},${validNpi(prng(2))}`;
    await fuzz(SEED + 3, 130, (r, n) => bundleCase(r, n, 'Practitioner'), (c) =>
      syncRoster(fx.client, { file: 'roster.csv', text: row, practitioners: { location: c.file, json: JSON.parse(c.content) } }),
    );
  });

  it('PEM private keys (100)', async () => {
    await fuzz(SEED + 4, 100, (r, n) => pemCase(r, n, keys), async (c) => privateKeyFor({ privateKeyPath: await fileFor(c, 'pem') }, quiet));
  });

  it('config files (160)', async () => {
    await fuzz(SEED + 5, 160, configCase, async (c) => settingsFor({ config: await fileFor(c, 'config'), json: false, debug: false, quiet: true }, {}));
  });

  it('export manifests (60)', async () => {
    await fuzz(SEED + 6, 60, manifestCase, async (c, n) => verifyExportDir(join(await fileFor(c, `manifest-${n}`), '..')));
  });

  it('job completion bodies from the server (80): ERR_HTTP, exit 1 as documented for an answer that cannot be trusted', async () => {
    await fuzz(SEED + 7, 80, completionCase, async (c) => parseCompletion(JSON.parse(c.content), 'job'));
  });

  it('export state files (30)', async () => {
    await fuzz(SEED + 8, 30, stateCase, async (c, n) => exportStatus(fx.client, join(await fileFor(c, `state-${n}`), '..')));
  });
});
