/**
 * The demo folder: created owner-only (it holds private keys, a client token and exported PHI-shaped data), and
 * never one that already holds something, so the demo cannot overwrite a user's files.
 */
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { generateKeyPair, privateKeyPem, publicKeyPem, signSnippet } from '../auth/keys.js';
import { DpcError } from '../errors.js';
import { ensurePrivateDir, writeOwnerOnly } from '../fs.js';

/** A new temp folder, or `dir` (created 0700) when it is absent or empty. */
export async function prepareDemoDir(dir?: string): Promise<string> {
  if (dir === undefined) return mkdtemp(join(tmpdir(), 'dpc-demo-'));
  const path = resolve(dir);
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isDirectory()) throw new DpcError('ERR_USAGE', `dir ${path} is a file; give a new or empty folder`, { field: 'dir' });
  if (info && (await readdir(path)).length > 0) {
    throw new DpcError('ERR_USAGE', `dir ${path} is not empty; give a new or empty folder (the demo writes keys, a client token and an export there)`, { field: 'dir' });
  }
  await ensurePrivateDir(path);
  return path;
}

export interface DemoKeyPair {
  privateKey: KeyObject;
  publicKeyPem: string;
  signature: string;
  files: { privateKeyFile: string; publicKeyFile: string; signatureFile: string };
}

/**
 * A fresh RSA-4096 pair and its snippet signature, written as `dpc keys generate` writes them (private.pem,
 * public.pem, signature.txt), all 0600 in a 0700 folder.
 */
export async function makeDemoKey(dir: string): Promise<DemoKeyPair> {
  const { privateKey } = await generateKeyPair();
  const pair = { privateKey, publicKeyPem: publicKeyPem(privateKey), signature: signSnippet(privateKey) };
  const files = { privateKeyFile: join(dir, 'private.pem'), publicKeyFile: join(dir, 'public.pem'), signatureFile: join(dir, 'signature.txt') };
  await ensurePrivateDir(dir);
  await writeOwnerOnly(files.privateKeyFile, privateKeyPem(privateKey));
  await writeOwnerOnly(files.publicKeyFile, pair.publicKeyPem);
  await writeOwnerOnly(files.signatureFile, `${pair.signature}\n`);
  return { ...pair, files };
}
