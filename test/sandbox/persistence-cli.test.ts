/** State persistence across restarts, temp-dir clean-up, and `dpc sandbox start` (run in-process with a stop signal). */
import type * as fhir3 from 'fhir/r3.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSandbox, type SandboxStartArgs } from '../../src/cli/commands/sandbox.js';
import { Output } from '../../src/cli/output.js';
import { DpcError } from '../../src/errors.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { api, seedToken } from './helpers.js';

let dir: string;
let first: SandboxHandle['seed'];
let patientId = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dpc-sandbox-test-'));
  // the one seed that generates its own key, as `dpc sandbox start --seed` does
  const sb = await startSandbox({ stateDir: dir, seed: true });
  first = sb.seed;
  const res = await api(sb, await seedToken(sb), '/Patient', {
    method: 'POST',
    json: { resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '7A00A00AA07' }], name: [{ family: 'P', given: ['Q'] }], gender: 'female', birthDate: '1940-01-01' },
  });
  patientId = ((await res.json()) as fhir3.Patient).id!;
  await sb.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('persistence', () => {
  it('writes owner-only state and key files that survive close', () => {
    expect(statSync(join(dir, 'state.json')).mode & 0o777).toBe(0o600);
    expect(statSync(first!.privateKeyPath).mode & 0o777).toBe(0o600);
  });

  it('a restart on the same state dir keeps the seed credentials and the data', async () => {
    const sb = await startSandbox({ stateDir: dir, seed: true });
    try {
      expect(sb.seed).toEqual(first);
      const token = await seedToken(sb);
      expect((await api(sb, token, `/Patient/${patientId}`)).status).toBe(200);
      expect(((await (await api(sb, token, '/Patient?_count=0')).json()) as fhir3.Bundle).total).toBe(101);
    } finally {
      await sb.close();
    }
    expect(existsSync(join(dir, 'state.json'))).toBe(true);
  });

  it('a default (temporary) state dir is removed on close; its data lives in memory only', async () => {
    const sb = await startSandbox();
    sb.admin.createOrganization();
    expect(existsSync(sb.stateDir)).toBe(true);
    expect(existsSync(join(sb.stateDir, 'state.json'))).toBe(false);
    await sb.close();
    expect(existsSync(sb.stateDir)).toBe(false);
  });
});

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

const args = (over: Partial<SandboxStartArgs> = {}): SandboxStartArgs => ({
  port: 0, host: '127.0.0.1', state: dir, seed: true, testMode: false, jobDuration: 3000, scale: 1, patientLimit: 1350,
  json: false, debug: false, quiet: true, ...over,
});

async function waitFor(text: () => string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 400 && !pattern.test(text()); i++) await sleep(10);
}

describe('dpc sandbox start', () => {
  it('--json prints one line with the URLs and the seed profile, serves until stopped, then closes', async () => {
    const out = capture();
    const stop = new AbortController();
    const running = runSandbox(args({ json: true }), new Output({ json: true, debug: false, quiet: true, stdout: out.stream }), stop.signal);
    await waitFor(out.text, /\n/);
    const info = JSON.parse(out.text()) as { baseUrl: string; seed: { clientToken: string; clientTokenFile: string; keyId: string } };
    expect(info.seed.keyId).toBe(first!.keyId);
    expect(readFileSync(info.seed.clientTokenFile, 'utf8').trim()).toBe(first!.clientToken);
    expect(statSync(info.seed.clientTokenFile).mode & 0o777).toBe(0o600);
    expect((await fetch(`${info.baseUrl}/metadata`)).status).toBe(200);
    stop.abort();
    await running;
    await expect(fetch(`${info.baseUrl}/metadata`)).rejects.toThrow();
  });

  it('human output names the base URL, the profile and a dpc init command', async () => {
    const out = capture();
    const stop = new AbortController();
    const running = runSandbox(args(), new Output({ json: false, debug: false, quiet: true, stdout: out.stream }), stop.signal);
    await waitFor(out.text, /Ctrl-C/);
    stop.abort();
    await running;
    expect(out.text()).toMatch(/DPC sandbox listening on http:\/\/127\.0\.0\.1:\d+\/api\/v1/);
    expect(out.text()).toContain(`client token  ${first!.clientToken}`);
    expect(out.text()).toContain(`--key-id ${first!.keyId}`);
    expect(out.text()).toContain('dpc init --profile local');
  });

  it('bad flags and a busy port are usage errors', async () => {
    const quiet = new Output({ json: false, debug: false, quiet: true, stdout: new PassThrough() });
    await expect(runSandbox(args({ port: 70000 }), quiet, AbortSignal.abort())).rejects.toMatchObject({ code: 'ERR_USAGE' });
    const busy = await startSandbox();
    try {
      const error = await runSandbox(args({ port: busy.port, seed: false, state: undefined }), quiet, AbortSignal.abort()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DpcError);
      expect((error as DpcError).message).toBe(`port ${busy.port} on 127.0.0.1 is already in use; pick another with --port (0 = any free port)`);
    } finally {
      await busy.close();
    }
  });
});
