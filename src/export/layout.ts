/**
 * Where an export's files live (the whole layout is drawn in run.ts's header): one run folder per job under its group
 * folder, `<out>/<label>/<run>/`, so nothing a completed run wrote is ever replaced; `<out>/<label>/LATEST` names the
 * newest run whose files all verified. A run id is the job's kick-off time in UTC to the second
 * (`2026-11-25T020000Z`; `-2`, `-3`... when two jobs of one label start in the same second), recorded in the state
 * file so a resume continues the same folder.
 */
import { chmod, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DpcError } from '../errors.js';
import { DATA_FILE_NAME } from './manifest.js';
import { DIR_MODE, ensurePrivateDir, io, readTextIfExists, writeOwnerOnly } from '../fs.js';

export const MANIFEST_FILE = 'manifest.json';
export const QUARANTINE_DIR = '.quarantine';
export const LATEST_FILE = 'LATEST';
/** In a group folder named by group id: the NPI of the practitioner the group is attributed to. */
export const NPI_FILE = 'NPI';

/** A label or run id names one folder: no separators, no dot-names (so never `.` or `..`). */
export const FOLDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Run id for a kick-off at `epochMs`: filesystem-safe (no colons) and sorting chronologically. Pure. */
export function runIdAt(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace(/:/g, '')}Z`;
}

/** Create the run folder of a job kicked off at `epochMs`; returns its run id. */
export async function createRunDir(groupDir: string, epochMs: number): Promise<string> {
  await ensurePrivateDir(groupDir);
  const base = runIdAt(epochMs);
  for (let n = 1; ; n++) {
    const run = n === 1 ? base : `${base}-${n}`;
    const dir = join(groupDir, run);
    // mkdir without `recursive` fails on an existing folder: that is how a second job in the same second gets `-2`
    const created = await io(dir, 'create folder', () =>
      mkdir(dir, { mode: DIR_MODE }).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return false;
          throw error;
        },
      ),
    );
    if (created) {
      await io(dir, 'create folder', () => chmod(dir, DIR_MODE));
      return run;
    }
  }
}

/**
 * Remove what an unfinished run wrote (its job was replaced by a new one): the manifest first, so it never lists
 * missing files, then data and temp files; the folder goes when nothing else is left in it.
 */
export async function abandonRun(runDir: string): Promise<void> {
  await io(runDir, 'clear unfinished run', async () => {
    await rm(join(runDir, MANIFEST_FILE), { force: true });
    const names = await readdir(runDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    for (const name of names) {
      if (DATA_FILE_NAME.test(name) || name.endsWith('.part')) await rm(join(runDir, name), { force: true });
    }
    await rmdir(runDir).catch(() => undefined); // still holds something of the user's: keep it
  });
}

export async function writeLatest(groupDir: string, run: string): Promise<void> {
  await writeOwnerOnly(join(groupDir, LATEST_FILE), `${run}\n`);
}

/** The run id in `<groupDir>/LATEST`, undefined when there is none; a value that is not a folder name is refused. */
export async function readLatest(groupDir: string): Promise<string | undefined> {
  const path = join(groupDir, LATEST_FILE);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  const run = text.trim();
  if (!FOLDER_NAME.test(run)) throw new DpcError('ERR_INPUT', `${path} does not name a run folder (got ${JSON.stringify(run.slice(0, 80))})`, { location: path });
  return run;
}
