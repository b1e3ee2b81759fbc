/**
 * Resume and incremental state: per group label, the in-flight job (URL, the request that started it, its run
 * folder), its verified files, and the last run whose files were all verified: its run id (`latest`) and
 * transactionTime (what `--since auto` uses).
 *
 * On disk it is a snapshot, `<out>/.dpc-export-state.json` (0600, written atomically), plus an append-only journal,
 * `<out>/.dpc-export-state.journal` (0600, one JSON change per line, fsynced before the change is acted on). A run
 * appends one line per verified file, so its cost grows with the files, not with their square (rewriting the whole
 * snapshot per file took 319 s for 10,000 files); it folds the journal into the snapshot when it opens the state and
 * when it ends. Reading replays the journal over the snapshot; a torn last line (a crash mid-append) is ignored: its
 * file was not yet renamed into place, so it is downloaded again.
 *
 * Labels and URLs are keys of Maps, never of plain objects, so a group called `constructor` or `toString` is a group.
 */
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DpcError } from '../errors.js';
import { isObject, kindOf } from '../json.js';
import type { VerifiedFile } from './download.js';
import { FILE_MODE, fsyncPath, io, readTextIfExists, writeOwnerOnly } from '../fs.js';
import { FOLDER_NAME } from './layout.js';
import { recordedFileProblem } from './manifest.js';

export const STATE_FILE = '.dpc-export-state.json';
export const JOURNAL_FILE = '.dpc-export-state.journal';

export interface GroupState {
  /** The in-flight job, until all its files are verified. */
  jobUrl?: string;
  /** Fingerprint of the request that started `jobUrl`; a different request starts a new job. */
  request?: string;
  kickedOffAt?: string;
  /** Run id (folder under the group folder) of the in-flight job. */
  run?: string;
  /** Verified files of the in-flight job, by local file name (one manifest entry each); paths are inside its run folder. */
  files: Map<string, VerifiedFile>;
  /** transactionTime of the last job whose files were all verified. */
  lastTransactionTime?: string;
  /** The last job completed in full, for `status`. */
  lastJobUrl?: string;
  /** Run id of that job: also in `<out>/<label>/LATEST`. */
  latest?: string;
}

/** Forget a group's in-flight job (finished or given up): its URL, request, run folder and verified files. */
export function forgetInFlight(group: GroupState): void {
  delete group.jobUrl;
  delete group.request;
  delete group.kickedOffAt;
  delete group.run;
  group.files = new Map();
}

/** The snapshot as JSON. */
export interface StateFile {
  version: 1;
  /** Counts compactions; journal lines of another generation are already in the snapshot (or older than it). */
  generation?: number;
  groups: Record<string, StoredGroup>;
}

type StoredGroup = Omit<GroupState, 'files'> & { files: Record<string, VerifiedFile> };

/** A journal line: a group's whole state (jobs starting and finishing), or one verified file of a run. */
type JournalRecord = { gen: number; label: string } & ({ group: StoredGroup } | { run: string; jobUrl: string; name: string; file: VerifiedFile });

const SCALAR_FIELDS = ['jobUrl', 'request', 'kickedOffAt', 'lastTransactionTime', 'lastJobUrl', 'run', 'latest'] as const;

export class StateStore {
  private readonly journal: Journal;

  private constructor(
    readonly path: string,
    private readonly groups: Map<string, GroupState>,
    private generation: number,
  ) {
    this.journal = new Journal(join(dirname(path), JOURNAL_FILE));
  }

  /** Read the snapshot and replay the journal over it (no writes: `status` reads a folder another run may hold). */
  static async open(outDir: string): Promise<StateStore> {
    const path = join(outDir, STATE_FILE);
    const snapshot = await readState(path);
    const generation = snapshot.generation ?? 0;
    const groups = fromStored(snapshot);
    for (const record of await readJournal(join(outDir, JOURNAL_FILE))) if (record.gen === generation) apply(groups, record);
    return new StateStore(path, groups, generation);
  }

  /** Read-only view of a group (empty when unknown). */
  group(label: string): Readonly<GroupState> {
    return this.groups.get(label) ?? { files: new Map() };
  }

  labels(): string[] {
    return [...this.groups.keys()];
  }

  /** Change a group's job fields and persist the group as one journal line. */
  update(label: string, change: (group: GroupState) => void): Promise<void> {
    const group = this.groups.get(label) ?? { files: new Map() };
    this.groups.set(label, group);
    change(group);
    return this.journal.append({ gen: this.generation, label, group: toStoredGroup(group) });
  }

  /**
   * Record the verified file of manifest entry `name` (its planned local name) in `label`'s in-flight run. Resolves
   * once the line is on disk: only then may the file be renamed to its final name.
   */
  recordFile(label: string, name: string, file: VerifiedFile): Promise<void> {
    const group = this.groups.get(label);
    if (group?.run === undefined || group.jobUrl === undefined) {
      return Promise.reject(new DpcError('ERR_IO', `state: ${label} has no run in flight to record ${file.path} in`));
    }
    group.files.set(name, file);
    return this.journal.append({ gen: this.generation, label, run: group.run, jobUrl: group.jobUrl, name, file });
  }

  /**
   * Fold the journal into the snapshot: write the snapshot atomically under the next generation, then drop the
   * journal. After a crash in between, the journal's lines carry the old generation and are skipped.
   */
  async compact(): Promise<void> {
    await this.journal.close();
    await writeOwnerOnly(this.path, `${JSON.stringify({ ...this.toJSON(), generation: this.generation + 1 }, null, 2)}\n`);
    this.generation++; // only now: had the write failed, lines appended later must still count against the old snapshot
    await io(this.journal.path, 'remove', async () => {
      await rm(this.journal.path, { force: true });
      await fsyncPath(dirname(this.journal.path));
    });
  }

  toJSON(): StateFile {
    const groups: Record<string, StoredGroup> = {};
    for (const [label, group] of this.groups) Object.defineProperty(groups, label, { value: toStoredGroup(group), enumerable: true });
    return { version: 1, generation: this.generation, groups };
  }
}

/**
 * Appends lines and fsyncs them. Lines arriving while a write is in flight go out together in the next write, under
 * one fsync, so parallel downloads share the cost. After a failed write nothing more is appended: a later line would
 * follow a torn one.
 */
class Journal {
  private handle?: FileHandle;
  private pending: Array<{ line: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing?: Promise<void>;
  private failed?: unknown;

  constructor(readonly path: string) {}

  append(record: JournalRecord): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const line = `${JSON.stringify(record)}\n`;
    return new Promise((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        if (this.failed) throw this.failed;
        await io(this.path, 'append', async () => {
          this.handle ??= await open(this.path, 'a', FILE_MODE);
          await this.handle.write(batch.map((b) => b.line).join(''));
          await this.handle.datasync();
        });
        for (const b of batch) b.resolve();
      } catch (error) {
        this.failed = error;
        for (const b of batch) b.reject(error);
      }
    }
    this.flushing = undefined;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }
}

function apply(groups: Map<string, GroupState>, record: JournalRecord): void {
  if ('group' in record) {
    groups.set(record.label, groupFromStored(record.group));
    return;
  }
  // a file line counts only for the run it was written in: a run begun later starts with no verified files
  const group = groups.get(record.label);
  if (group && group.run === record.run && group.jobUrl === record.jobUrl) group.files.set(record.name, record.file);
}

function toStoredGroup(group: GroupState): StoredGroup {
  const files: Record<string, VerifiedFile> = {};
  for (const [url, file] of group.files) Object.defineProperty(files, url, { value: file, enumerable: true });
  return { ...group, files };
}

function groupFromStored(stored: StoredGroup): GroupState {
  return { ...stored, files: new Map(Object.entries(stored.files)) };
}

function fromStored(state: StateFile): Map<string, GroupState> {
  return new Map(Object.entries(state.groups).map(([label, group]) => [label, groupFromStored(group)]));
}

export async function readState(path: string): Promise<StateFile> {
  const text = await readTextIfExists(path);
  return text === undefined ? { version: 1, groups: {} } : parseChecked<StateFile>(text, stateProblem, path, 'an export state file');
}

/** The journal's records in order; a last line without its newline is a torn append and is skipped. */
async function readJournal(path: string): Promise<JournalRecord[]> {
  const text = await readTextIfExists(path);
  if (text === undefined) return [];
  const lines = text.split('\n');
  lines.pop(); // after the last newline: '' or a torn line
  return lines.map((line, i) => parseChecked<JournalRecord>(line, recordProblem, `${path}:${i + 1}`, 'an export journal line'));
}

/** JSON checked by `problemOf`; unparsable or with a problem, it is ERR_INPUT naming `where`. */
function parseChecked<T>(text: string, problemOf: (value: unknown) => string | undefined, where: string, what: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const problem = problemOf(parsed);
  if (problem === undefined) return parsed as T;
  throw new DpcError('ERR_INPUT', `${where} is not ${what} this version understands (${problem}); move it away to start fresh`, { location: where });
}

/**
 * The state file sits in a folder others may write to: check every field resume reads, including that each label
 * and run id names a folder directly inside its parent and each recorded file stays inside its run folder. Pure.
 */
function stateProblem(state: unknown): string | undefined {
  if (!isObject(state)) return 'not a JSON object';
  if (state.version !== 1) return `version ${JSON.stringify(state.version) ?? 'missing'}, expected 1`;
  if (state.generation !== undefined && !Number.isSafeInteger(state.generation)) return `"generation" is not an integer (got ${kindOf(state.generation)})`;
  if (!isObject(state.groups)) return `"groups" is not an object (got ${kindOf(state.groups)})`;
  for (const [label, group] of Object.entries(state.groups)) {
    const problem = groupProblem(label, group);
    if (problem) return problem;
  }
  return undefined;
}

function groupProblem(label: string, group: unknown): string | undefined {
  const at = `groups[${JSON.stringify(label)}]`;
  if (!FOLDER_NAME.test(label)) return `${at}: the label cannot name an output folder`;
  if (!isObject(group)) return `${at} is not an object (got ${kindOf(group)})`;
  for (const field of SCALAR_FIELDS) {
    if (group[field] !== undefined && typeof group[field] !== 'string') return `${at}.${field} is not a string (got ${kindOf(group[field])})`;
  }
  for (const field of ['run', 'latest'] as const) {
    if (group[field] !== undefined && !FOLDER_NAME.test(group[field] as string)) return `${at}.${field} cannot name a run folder`;
  }
  if (!isObject(group.files)) return `${at}.files is not an object (got ${kindOf(group.files)})`;
  for (const [url, file] of Object.entries(group.files)) {
    const problem = fileProblem(file);
    if (problem) return `${at}.files[${JSON.stringify(url)}]${problem}`;
  }
  return undefined;
}

function fileProblem(file: unknown): string | undefined {
  return recordedFileProblem(file) ?? (typeof (file as { url?: unknown }).url === 'string' ? undefined : '.url is not a string');
}

/** Why a journal line cannot be replayed (undefined when it can). Pure. */
function recordProblem(record: unknown): string | undefined {
  if (!isObject(record)) return 'not a JSON object';
  if (!Number.isSafeInteger(record.gen)) return `"gen" is not an integer (got ${kindOf(record.gen)})`;
  if (typeof record.label !== 'string') return `"label" is not a string (got ${kindOf(record.label)})`;
  if ('group' in record) return groupProblem(record.label, record.group);
  if (!FOLDER_NAME.test(record.label)) return 'the label cannot name an output folder';
  if (typeof record.run !== 'string' || typeof record.jobUrl !== 'string' || typeof record.name !== 'string') return '"run", "jobUrl" and "name" must be strings';
  const problem = fileProblem(record.file);
  return problem && `file${problem}`;
}
