/**
 * Which files the tables are built from: only resource files a run's manifest.json lists as verified, still on disk
 * at their recorded size. `<dir>` is a run folder (that run), a group folder (its LATEST run), an output folder of
 * `--all-groups` runs (each group's LATEST run) or a folder holding one (the demo's). When the chosen run is incremental (its request has `_since`), the
 * runs before it are added back to the last full export, so the tables hold the current picture and not one delta.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DpcError } from '../errors.js';
import { isValidNpi } from '../fhir/validate.js';
import { fileExists as exists, io, readTextIfExists, requireInputFolder } from '../fs.js';
import { LATEST_FILE, MANIFEST_FILE, readLatest } from '../export/layout.js';
import { DATA_FILE_NAME } from '../export/manifest.js';
import type { GroupManifest } from '../export/run.js';
import { parseManifest, subfolders } from '../export/verify.js';

export interface SourceFile {
  /** Absolute path. */
  path: string;
  type: string;
  /** Resources in the file, as verified. */
  count: number;
}

export interface SourceRun {
  label: string;
  run: string;
  /** The group's practitioner NPI when the export knows it (a label that is an NPI, or the manifest's `npi`). */
  npi?: string;
  /** SHA-256 of manifest.json: a run whose manifest changed (resumed, completed) is read again. */
  manifestSha256: string;
  transactionTime: string;
  files: SourceFile[];
  /** Bulk Data 2.0 `deleted` files: Bundles of DELETE requests, applied to the tables (deletions.ts). */
  deleted: SourceFile[];
}

export interface ExcludedFile {
  path: string;
  reason: string;
}

export interface Sources {
  runs: SourceRun[];
  excluded: ExcludedFile[];
}

export async function findSources(dir: string): Promise<Sources> {
  const root = resolve(dir);
  // a folder that is not there is bad input (exit 2), reported like any other missing input
  await requireInputFolder(dir, 'export folder');
  const manifests = await chooseRuns(root);
  const sources: Sources = { runs: [], excluded: [] };
  for (const manifest of manifests) {
    const { run, excluded } = await readRun(manifest);
    sources.runs.push(run);
    sources.excluded.push(...excluded);
  }
  return sources;
}

/** A run folder's manifest.json, read once: parsed, and its text for the ledger's SHA-256. */
interface RunManifest {
  runDir: string;
  text: string;
  manifest: GroupManifest;
}

/** Undefined when the folder has no manifest.json (not a run folder). */
async function readRunManifest(runDir: string): Promise<RunManifest | undefined> {
  const path = join(runDir, MANIFEST_FILE);
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : { runDir, text, manifest: parseManifest(text, path) };
}

async function chooseRuns(root: string): Promise<RunManifest[]> {
  const run = await readRunManifest(root);
  if (run) return [run];
  if (await exists(join(root, LATEST_FILE))) return groupRuns(root);
  let groups = await groupFolders(root);
  // a folder holding an output folder (the demo's: keys/, export/<group>/…)
  if (groups.length === 0) groups = (await Promise.all((await subfolders(root)).map((name) => groupFolders(join(root, name))))).flat();
  if (groups.length === 0) {
    throw new DpcError('ERR_INPUT', `${root} is not an export folder: it holds no ${MANIFEST_FILE} (run folder), no ${LATEST_FILE} (group folder) and no group folder with a ${LATEST_FILE}, nor does any folder in it`, { location: root });
  }
  return (await Promise.all(groups.map(groupRuns))).flat();
}

async function groupFolders(dir: string): Promise<string[]> {
  const groups: string[] = [];
  for (const name of await subfolders(dir)) if (await exists(join(dir, name, LATEST_FILE))) groups.push(join(dir, name));
  return groups;
}

/** The LATEST run of a group folder plus, while a run is incremental, the run before it. Oldest first. */
async function groupRuns(groupDir: string): Promise<RunManifest[]> {
  const latest = await readLatest(groupDir);
  if (latest === undefined) throw new DpcError('ERR_INPUT', `${groupDir} has no ${LATEST_FILE}: no run of it completed`, { location: groupDir });
  const runs = (await subfolders(groupDir)).filter((name) => name <= latest).reverse();
  const chosen: RunManifest[] = [];
  for (const run of runs) {
    const loaded = await readRunManifest(join(groupDir, run));
    if (!loaded) continue;
    chosen.unshift(loaded);
    if (!isIncremental(loaded.manifest)) break;
  }
  if (chosen.length === 0 || !chosen.at(-1)!.runDir.endsWith(latest)) {
    throw new DpcError('ERR_INPUT', `${join(groupDir, latest)} (named by ${LATEST_FILE}) holds no ${MANIFEST_FILE}`, { location: groupDir });
  }
  return chosen;
}

/**
 * A run exported with `_since` holds only what changed: judged by the kick-off this client sent, else by the server's
 * echo, which DPC writes without the `?` (`…/$export_since=…`: JobCompletionModel's request is the path plus the query
 * string). Pure.
 */
export function isIncremental(manifest: Pick<GroupManifest, 'request' | 'requestSent'>): boolean {
  const request = manifest.requestSent ?? manifest.request;
  return typeof request === 'string' && /(?:[?&]|\$export)_since=/.test(request);
}

async function readRun({ runDir, text, manifest: parsed }: RunManifest): Promise<{ run: SourceRun; excluded: ExcludedFile[] }> {
  const manifest = parsed as GroupManifest & { npi?: unknown };
  const npi = typeof manifest.npi === 'string' && isValidNpi(manifest.npi) ? manifest.npi : isValidNpi(manifest.label) ? manifest.label : undefined;
  const run: SourceRun = {
    label: manifest.label,
    run: typeof manifest.run === 'string' ? manifest.run : runDir.split('/').at(-1)!,
    ...(npi ? { npi } : {}),
    manifestSha256: createHash('sha256').update(text).digest('hex'),
    transactionTime: typeof manifest.transactionTime === 'string' ? manifest.transactionTime : '',
    files: [],
    deleted: [],
  };
  const excluded: ExcludedFile[] = [];
  const listed = new Set<string>();
  for (const file of manifest.files) {
    listed.add(file.path);
    // error files hold OperationOutcomes: no data for a table
    if (file.kind === 'error' || file.type === 'OperationOutcome') continue;
    const filePath = join(runDir, file.path);
    const problem = await sizeProblem(filePath, file.gzipBytes ?? file.bytes);
    if (problem) excluded.push({ path: filePath, reason: problem });
    else (file.kind === 'deleted' ? run.deleted : run.files).push({ path: filePath, type: file.type, count: file.count });
  }
  // data files the manifest does not list never verified (a crash's leftovers, a file copied in by hand)
  for (const name of await io(runDir, 'read folder', () => readdir(runDir))) {
    if (DATA_FILE_NAME.test(name) && !listed.has(name)) excluded.push({ path: join(runDir, name), reason: `not listed as verified in ${MANIFEST_FILE}` });
  }
  return { run, excluded };
}

/** Verified files are fsynced before their size is recorded: another size means the file changed since. */
async function sizeProblem(path: string, recorded: number): Promise<string | undefined> {
  try {
    const { size } = await stat(path);
    return size === recorded ? undefined : `${size} bytes on disk, ${recorded} verified: changed since it verified`;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable: ${(error as NodeJS.ErrnoException).code}`;
  }
}
