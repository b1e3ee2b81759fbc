/**
 * Resume and incremental state, `<out>/.dpc-export-state.json` (0600, written atomically after every verified file):
 * per group label, the in-flight job (URL + the request that started it), its verified files, and the last
 * transactionTime whose files were all verified (what `--since auto` uses).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DpcError } from '../errors.js';
import type { VerifiedFile } from './download.js';
import { writeFileAtomic } from './files.js';

export const STATE_FILE = '.dpc-export-state.json';

export interface GroupState {
  /** The in-flight job, until all its files are verified. */
  jobUrl?: string;
  /** Fingerprint of the request that started `jobUrl`; a different request starts a new job. */
  request?: string;
  kickedOffAt?: string;
  /** Verified files of the in-flight job, by server URL. */
  files: Record<string, VerifiedFile>;
  /** transactionTime of the last job whose files were all verified. */
  lastTransactionTime?: string;
  /** The last job completed in full, for `status`. */
  lastJobUrl?: string;
}

interface StateFile {
  version: 1;
  groups: Record<string, GroupState>;
}

export class StateStore {
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly state: StateFile,
  ) {}

  static async open(outDir: string): Promise<StateStore> {
    const path = join(outDir, STATE_FILE);
    return new StateStore(path, await readState(path));
  }

  /** Read-only view of a group (empty when unknown). */
  group(label: string): Readonly<GroupState> {
    return this.state.groups[label] ?? { files: {} };
  }

  labels(): string[] {
    return Object.keys(this.state.groups);
  }

  /** Change a group and persist; writes are serialised so concurrent downloads never interleave them. */
  update(label: string, change: (group: GroupState) => void): Promise<void> {
    const group = (this.state.groups[label] ??= { files: {} });
    change(group);
    const snapshot = `${JSON.stringify(this.state, null, 2)}\n`;
    const write = this.writes.then(() => writeFileAtomic(this.path, snapshot));
    this.writes = write.catch(() => undefined);
    return write;
  }
}

export async function readState(path: string): Promise<StateFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, groups: {} };
    throw new DpcError('ERR_IO', `read ${path}: ${(error as NodeJS.ErrnoException).code}`, { cause: error, location: path });
  }
  try {
    const parsed = JSON.parse(text) as Partial<StateFile>;
    if (parsed.version === 1 && parsed.groups && typeof parsed.groups === 'object') return parsed as StateFile;
  } catch {
    // fall through to the error below
  }
  throw new DpcError('ERR_INPUT', `${path} is not an export state file this version understands; move it away to start fresh`, { location: path });
}
