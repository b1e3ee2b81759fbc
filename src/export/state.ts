/**
 * Resume and incremental state, `<out>/.dpc-export-state.json` (0600, written atomically after every verified file):
 * per group label, the in-flight job (URL, the request that started it, its run folder), its verified files, and the
 * last run whose files were all verified: its run id (`latest`) and transactionTime (what `--since auto` uses).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DpcError } from '../errors.js';
import { isObject, kindOf } from '../json.js';
import type { VerifiedFile } from './download.js';
import { writeOwnerOnly } from '../fs.js';
import { FOLDER_NAME } from './layout.js';
import { recordedFileProblem } from './manifest.js';

export const STATE_FILE = '.dpc-export-state.json';

export interface GroupState {
  /** The in-flight job, until all its files are verified. */
  jobUrl?: string;
  /** Fingerprint of the request that started `jobUrl`; a different request starts a new job. */
  request?: string;
  kickedOffAt?: string;
  /** Run id (folder under the group folder) of the in-flight job. */
  run?: string;
  /** Verified files of the in-flight job, by local file name (one manifest entry each); paths are inside its run folder. */
  files: Record<string, VerifiedFile>;
  /** transactionTime of the last job whose files were all verified. */
  lastTransactionTime?: string;
  /** The last job completed in full, for `status`. */
  lastJobUrl?: string;
  /** Run id of that job: also in `<out>/<label>/LATEST`. */
  latest?: string;
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
    const write = this.writes.then(() => writeOwnerOnly(this.path, snapshot));
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
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const problem = stateProblem(parsed);
  if (problem === undefined) return parsed as StateFile;
  throw new DpcError('ERR_INPUT', `${path} is not an export state file this version understands (${problem}); move it away to start fresh`, { location: path });
}

/**
 * The state file sits in a folder others may write to: check every field resume reads, including that each label
 * and run id names a folder directly inside its parent and each recorded file stays inside its run folder. Pure.
 */
function stateProblem(state: unknown): string | undefined {
  if (!isObject(state)) return 'not a JSON object';
  if (state.version !== 1) return `version ${JSON.stringify(state.version) ?? 'missing'}, expected 1`;
  if (!isObject(state.groups)) return `"groups" is not an object (got ${kindOf(state.groups)})`;
  for (const [label, group] of Object.entries(state.groups)) {
    const at = `groups[${JSON.stringify(label)}]`;
    if (!FOLDER_NAME.test(label)) return `${at}: the label cannot name an output folder`;
    if (!isObject(group)) return `${at} is not an object (got ${kindOf(group)})`;
    for (const field of ['jobUrl', 'request', 'kickedOffAt', 'lastTransactionTime', 'lastJobUrl', 'run', 'latest'] as const) {
      if (group[field] !== undefined && typeof group[field] !== 'string') return `${at}.${field} is not a string (got ${kindOf(group[field])})`;
    }
    for (const field of ['run', 'latest'] as const) {
      if (group[field] !== undefined && !FOLDER_NAME.test(group[field] as string)) return `${at}.${field} cannot name a run folder`;
    }
    if (!isObject(group.files)) return `${at}.files is not an object (got ${kindOf(group.files)})`;
    for (const [url, file] of Object.entries(group.files)) {
      const problem = recordedFileProblem(file);
      if (problem) return `${at}.files[${JSON.stringify(url)}]${problem}`;
    }
  }
  return undefined;
}
