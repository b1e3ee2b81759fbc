/**
 * Export progress on stderr: one cli-progress bar per group on a TTY (files, MiB, resources, rate, job state);
 * otherwise one NDJSON line per event in the SMART bulk-data log vocabulary (`eventId`), with X-Request-Id when known.
 */
import type { SingleBar } from 'cli-progress';
import type { ExportEvent } from '../../export/index.js';
import type { Output } from '../output.js';
import { plural } from '../../plural.js';

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
export function shortLabel(label: string): string {
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
  const { MultiBar, Presets } = await import('cli-progress');
  const bars = new MultiBar(
    {
      stream: process.stderr,
      format: '{label} [{bar}] {value}/{total} files | {mib} MiB | {resources} resources | {rate} MiB/s | {phase}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 5,
      barsize: 24,
    },
    Presets.shades_classic,
  );
  const groups = new Map<string, { bar: SingleBar; bytes: number; resources: number; started: number }>();
  const groupFor = (label: string) => {
    let group = groups.get(label);
    if (!group) {
      group = { bar: bars.create(0, 0, { label: shortLabel(label), mib: '0.0', resources: 0, rate: '0.0', phase: 'starting' }), bytes: 0, resources: 0, started: Date.now() };
      groups.set(label, group);
    }
    return group;
  };
  const payload = (g: { bytes: number; resources: number; started: number }, phase: string) => ({
    mib: (g.bytes / 2 ** 20).toFixed(1),
    resources: g.resources,
    rate: (g.bytes / 2 ** 20 / Math.max((Date.now() - g.started) / 1000, 0.001)).toFixed(1),
    phase,
  });
  return {
    onEvent: (event) => {
      const g = groupFor(event.label);
      switch (event.type) {
        case 'kickoff':
          g.bar.update(0, payload(g, event.resumed ? 'resuming job' : 'job started'));
          break;
        case 'status_progress':
          g.bar.update(payload(g, `waiting: ${event.progress ?? 'in progress'}`));
          break;
        case 'status_error':
          g.bar.update(payload(g, `status error, retrying: ${event.message}`));
          break;
        case 'status_complete':
          g.started = Date.now();
          g.bar.setTotal(event.files);
          g.bar.update(payload(g, 'downloading'));
          break;
        case 'download_progress':
          g.bytes += event.bytes;
          g.bar.update(payload(g, 'downloading'));
          break;
        case 'download_complete':
          g.resources += event.resources;
          g.bar.increment(1, payload(g, 'downloading'));
          break;
        case 'download_error':
          g.bar.update(payload(g, `${event.file}: ${event.willRetry ? 'retrying' : 'quarantined'}`));
          break;
        case 'export_complete':
          g.bar.update(payload(g, event.quarantined > 0 ? `${event.quarantined} quarantined` : event.errors > 0 ? `done, ${plural(event.errors, 'patient error')}` : 'done'));
          break;
        case 'export_skipped':
          g.bar.update(payload(g, `skipped: ${event.reason}`));
          break;
        case 'download_request':
          break;
      }
    },
    stop: () => bars.stop(),
  };
}
