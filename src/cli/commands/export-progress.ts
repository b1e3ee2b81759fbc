/**
 * Export progress on stderr: one cli-progress bar per group on a TTY (files, MiB, resources, rate, job state);
 * otherwise one NDJSON line per event in the SMART bulk-data log vocabulary (`eventId`), with X-Request-Id when known.
 */
import type { SingleBar } from 'cli-progress';
import type { ExportEvent } from '../../export/index.js';
import type { Output } from '../output.js';
import { plural } from '../../plural.js';
import { escapeControl } from '../../escape.js';

export interface Progress {
  onEvent(event: ExportEvent): void;
  stop(): void;
}

/** The SMART log record for an event; undefined for the byte ticks that only feed progress bars. Pure. */
export function logRecord(event: ExportEvent): Record<string, unknown> | undefined {
  if (event.type === 'download_progress') return undefined;
  const { type, ...rest } = event;
  return { eventId: type, ...rest };
}

/** Group ids are UUIDs: a bar line must fit a terminal row, so show a recognisable prefix. Pure. */
function shortLabel(label: string): string {
  return label.length > 12 ? `${label.slice(0, 8)}…` : label;
}

export async function createProgress(output: Output, quiet: boolean): Promise<Progress> {
  if (quiet) return { onEvent: () => undefined, stop: () => undefined };
  if (!output.isTTY) {
    return {
      onEvent: (event) => {
        const record = logRecord(event);
        if (record) output.event(record);
      },
      stop: () => undefined,
    };
  }
  const { MultiBar } = await import('cli-progress');
  const bars = new MultiBar({
    stream: output.stderr,
    // the whole line is ours (progressLine): a waiting job shows its wait, not an empty 0/0 bar
    format: (_options, _params, payload: { line?: string }) => payload.line ?? '',
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    fps: 5,
  });
  // server text (X-Progress, error messages) reaches the line: escaped by progressLine, secrets masked here
  const lineOf = (state: BarState): string => output.redact(progressLine(state, Date.now()));
  const groups = new Map<string, { bar: SingleBar; state: BarState }>();
  const groupFor = (label: string) => {
    let group = groups.get(label);
    if (!group) {
      const state: BarState = { label: shortLabel(label), phase: 'waiting', since: Date.now(), files: 0, total: 0, bytes: 0, resources: 0, note: 'starting' };
      group = { bar: bars.create(1, 0, { line: lineOf(state) }), state };
      groups.set(label, group);
    }
    return group;
  };
  // elapsed time moves between events too: redraw every bar once a second
  const ticker = setInterval(() => {
    for (const g of groups.values()) g.bar.update({ line: lineOf(g.state) });
  }, 1000);
  ticker.unref();
  return {
    onEvent: (event) => {
      const g = groupFor(event.label);
      advance(g.state, event, Date.now());
      g.bar.update({ line: lineOf(g.state) });
    },
    stop: () => {
      clearInterval(ticker);
      bars.stop();
    },
  };
}

/** What one group's progress line shows. */
export interface BarState {
  /** The practitioner NPI when known, else a short group label. */
  label: string;
  phase: 'waiting' | 'downloading' | 'done';
  /** Epoch ms the current phase began (the wait, or the downloads). */
  since: number;
  files: number;
  total: number;
  bytes: number;
  /** Resources in data files: OperationOutcome error files are patients not exported, not resources. */
  resources: number;
  /** The job's X-Progress while waiting, else what is happening. */
  note: string;
}

/** Pure: the state after one event (mutated in place; bars redraw from it). */
export function advance(state: BarState, event: ExportEvent, now: number): void {
  switch (event.type) {
    case 'kickoff':
      if (event.npi !== undefined) state.label = event.npi;
      Object.assign(state, { phase: 'waiting', since: now, note: event.resumed ? 'resumed job' : 'job started' });
      break;
    case 'status_progress':
      state.note = event.progress ?? 'in progress';
      break;
    case 'status_error':
      state.note = `status error, retrying: ${event.message}`;
      break;
    case 'status_complete':
      Object.assign(state, { phase: 'downloading', since: now, total: event.files, note: 'downloading' });
      break;
    case 'download_progress':
      state.bytes += event.bytes;
      break;
    case 'download_complete':
      state.files += 1;
      if (event.kind === 'output') state.resources += event.resources;
      break;
    case 'download_error':
      state.note = `${event.file}: ${event.willRetry ? 'retrying' : 'quarantined'}`;
      break;
    case 'export_complete':
      state.phase = 'done';
      state.resources = event.resources;
      state.note = event.quarantined > 0 ? `${event.quarantined} quarantined` : event.errors > 0 ? `done, ${plural(event.errors, 'patient error')}` : 'done';
      break;
    case 'export_skipped':
      Object.assign(state, { phase: 'done', note: `skipped: ${event.reason}` });
      break;
    case 'job_deleted':
      state.note = event.outcome === 'failed' ? `done; the server kept the job: ${event.message}` : 'done, job deleted on the server';
      break;
    case 'download_request':
      break;
  }
}

const BAR_WIDTH = 24;

/**
 * Pure: `1232125215  waiting 0:42 · RUNNING: 5.77%`, or the download bar with files, MiB, resources and rate. The bar
 * is drawn on the terminal past Output, so the line is escaped here: the note holds server text (X-Progress may carry
 * C1 controls, which undici lets through as Latin-1).
 */
export function progressLine(state: BarState, now: number): string {
  return escapeControl(barText(state, now));
}

function barText(state: BarState, now: number): string {
  const elapsedMs = Math.max(0, now - state.since);
  if (state.phase === 'waiting') return `${state.label}  waiting for the job ${formatElapsed(elapsedMs)} · ${state.note}`;
  const filled = state.total === 0 ? BAR_WIDTH : Math.round((state.files / state.total) * BAR_WIDTH);
  const mib = state.bytes / 2 ** 20;
  const rate = mib / Math.max(elapsedMs / 1000, 0.001);
  return `${state.label} [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${state.files}/${state.total} files | ${mib.toFixed(1)} MiB | ${state.resources} resources | ${rate.toFixed(1)} MiB/s | ${state.note}`;
}

/** `0:07`, `12:30`, `1:02:03`. Pure. */
export function formatElapsed(ms: number): string {
  const total = Math.floor(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const mmss = `${m}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss.padStart(5, '0')}` : mmss;
}
