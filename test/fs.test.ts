/** The shared file operations: owner-only modes, whole-file replacement, no temp files left, one-line ERR_IO. */
import { afterAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDpcError } from '../src/errors.js';
import { ensurePrivateDir, fileExists, writeOwnerOnly } from '../src/fs.js';

const root = await mkdtemp(join(tmpdir(), 'dpc-fs-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('writeOwnerOnly', () => {
  it('creates missing folders 0700 and the file 0600, even under a permissive umask', async () => {
    const previous = process.umask(0);
    try {
      const path = join(root, 'new', 'deeper', 'secret.txt');
      await writeOwnerOnly(path, 'token\n');
      expect(await readFile(path, 'utf8')).toBe('token\n');
      expect(await mode(path)).toBe(0o600);
      expect(await mode(join(root, 'new'))).toBe(0o700);
      expect(await mode(join(root, 'new', 'deeper'))).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('replaces an existing file whole with a new 0600 file and leaves no temp file', async () => {
    const dir = join(root, 'replace');
    await mkdir(dir);
    const path = join(dir, 'state.json');
    await writeFile(path, 'x'.repeat(10_000), { mode: 0o644 });
    await writeOwnerOnly(path, Buffer.from('{}\n'));
    expect(await readFile(path, 'utf8')).toBe('{}\n');
    expect(await mode(path)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('keeps the mode of a folder it did not create', async () => {
    const dir = join(root, 'shared');
    await mkdir(dir);
    await chmod(dir, 0o755);
    await writeOwnerOnly(join(dir, 'a.txt'), 'a');
    expect(await mode(dir)).toBe(0o755);
  });

  it('concurrent writers of one path: the last rename wins whole, no temp files', async () => {
    const dir = join(root, 'concurrent');
    const path = join(dir, 'config.json');
    const contents = Array.from({ length: 20 }, (_, i) => `${String(i).repeat(5000)}\n`);
    await Promise.all(contents.map((c) => writeOwnerOnly(path, c)));
    expect(contents).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['config.json']);
  });

  it('fails with one ERR_IO line naming the path, and removes its temp file', async () => {
    const dir = join(root, 'blocked');
    const path = join(dir, 'is-a-folder');
    await mkdir(path, { recursive: true });
    const error = await writeOwnerOnly(path, 'x').catch((e: unknown) => e);
    expect(isDpcError(error, 'ERR_IO')).toBe(true);
    expect((error as Error).message).toBe(`write ${path}: EISDIR`);
    expect(await readdir(dir)).toEqual(['is-a-folder']);
  });
});

describe('ensurePrivateDir and fileExists', () => {
  it('creates a private folder and reports existence', async () => {
    const dir = join(root, 'private', 'run');
    expect(await fileExists(dir)).toBe(false);
    await ensurePrivateDir(dir);
    expect(await mode(dir)).toBe(0o700);
    expect(await fileExists(dir)).toBe(true);
  });

  it('reports why a missing parent cannot be made (ENOTDIR), not the ENOENT of a recursive mkdir', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    const failure = await ensurePrivateDir(join(file, 'sub', 'run')).catch((error: unknown) => error);
    expect(isDpcError(failure, 'ERR_IO') && failure.message).toMatch(/ENOTDIR$/);
  });

  // a read-only disk needs a mount: root on Linux only (CI runs as root); elsewhere the ENOTDIR case covers the path
  const canMount = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  it.runIf(canMount)('reports EROFS for a missing --out parent on a read-only disk', async (context) => {
    const mountPoint = join(root, 'read-only');
    await mkdir(mountPoint);
    // a container may deny mounts even to root
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mountPoint]).status !== 0) context.skip();
    try {
      const failure = await ensurePrivateDir(join(mountPoint, 'missing', 'out')).catch((error: unknown) => error);
      expect(isDpcError(failure, 'ERR_IO') && failure.message).toBe(`create folder ${join(mountPoint, 'missing', 'out')}: EROFS`);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });
});
