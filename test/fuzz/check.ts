/**
 * Shared by the fuzz tests (and the fault matrix): how a failure must look to a user, and the PEM sources the
 * generators need.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { DpcError } from '../../src/errors.js';
import { reportError } from '../../src/cli/main.js';
import type { FuzzCase, PemSources } from './gen/index.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

export const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

/** Why `error` is not the one-line, located, documented failure `c` demands; undefined when it is. */
export function failureOf(c: FuzzCase, error: unknown): string | undefined {
  if (error === undefined) return 'no error: the input was accepted';
  if (!(error instanceof DpcError)) return `crashed with ${(error as Error)?.name ?? typeof error}: ${(error as Error)?.message ?? String(error)}`;
  if (error.code !== c.code) return `${error.code} instead of ${c.code}: ${error.message}`;
  if (exitCodeFor(error) !== c.exitCode) return `exit ${exitCodeFor(error)} instead of ${c.exitCode}: ${error.message}`;
  const lines = [error.message, ...error.details];
  if (lines.some((l) => /[\r\n]/.test(l))) return `a message spans several lines: ${JSON.stringify(lines)}`;
  if (!lines.some((l) => l.includes(c.where) && c.problem.test(l.slice(l.indexOf(c.where))))) return `does not name "${c.where}" with ${c.problem}: ${JSON.stringify(lines)}`;
  const printed = cliLines(error);
  if (printed.exit !== c.exitCode) return `the CLI would exit ${printed.exit}`;
  if (!printed.lines[0]!.startsWith('error: ') || printed.lines.slice(1).some((l) => !l.startsWith('  '))) return `the CLI would print ${JSON.stringify(printed.lines)}`;
  if (STACK_LINE.test(printed.lines.join('\n'))) return 'the CLI would print a stack trace';
  return undefined;
}

/** What `dpc` prints for the error without --debug, and its exit code. */
export function cliLines(error: unknown): { exit: number; lines: string[] } {
  let text = '';
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => void ((text += chunk.toString()), done()) });
  const exit = reportError(error, [], { stderr: sink });
  return { exit, lines: text.replace(/\n$/, '').split('\n') };
}

/** Failures grouped by mutation kind, one example each, so a report stays readable. */
export function summarise(failures: ReadonlyArray<{ c: FuzzCase; why: string }>): string[] {
  const byKind = new Map<string, { n: number; example: string }>();
  for (const { c, why } of failures) {
    const key = `${c.id.split('#')[0]} ${c.kind}`;
    const seen = byKind.get(key);
    if (seen) seen.n++;
    else byKind.set(key, { n: 1, example: `${c.id}: ${why}` });
  }
  return [...byKind].map(([key, { n, example }]) => `${key} ×${n}, e.g. ${example}`.slice(0, 400));
}

/** PEM sources from one real 4096-bit key (the sandbox seed's) plus quick small and non-RSA keys. */
export function pemSources(pkcs8: string): PemSources {
  const key = createPrivateKey(pkcs8);
  return {
    pkcs8,
    pkcs1: key.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
    small: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ed25519: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
