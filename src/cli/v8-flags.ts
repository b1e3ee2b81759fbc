/**
 * V8 settings for a process whose job is a long verified download (`dpc export run|download`; bin/dpc applies them).
 * CLI only, not library API: they change the whole process, so only the process owner may set them, and first thing:
 * `--semi-space-growth-factor` only keeps the young generation small if it has not grown yet. A library user who
 * wants the same can pass the flags to node.
 *
 * Still needed (`npm run bench`, whole CLI process): peak RSS 71 MiB with these flags vs 104 MiB without.
 * Measured (256 MB export, 4 parallel downloads, 3 runs each): peak RSS 104–109 MiB with V8's defaults, 69–70 MiB
 * with all three, at the same throughput and less CPU per GB (2.4 s vs 3.1 s). Any two of them leave 84–107 MiB: the
 * peak is where transients coincide, so each flag removes one of them:
 * - `--liftoff-only`: undici's HTTP parser is WebAssembly; once it is hot V8 recompiles it with TurboFan, whose compiler
 *   memory is a transient of tens of MiB. The baseline code parses headers as fast as a loopback sends them (bodies
 *   are passed through, not parsed).
 * - `--no-opt`: the same kind of transient for TurboFan compiles of the stream glue; the work that costs (sha256, the
 *   newline search, file writes) is native code either way.
 * - `--semi-space-growth-factor=1`: keeps the young generation at its start size, so the small wrappers of socket
 *   chunks are collected within milliseconds and free their 64 KiB buffers with them, instead of piling up until an
 *   old-space collection.
 */
import { setFlagsFromString } from 'node:v8';

export const STREAMING_V8_FLAGS = ['--liftoff-only', '--no-opt', '--semi-space-growth-factor=1'] as const;

/** Apply {@link STREAMING_V8_FLAGS} unless `DPC_V8_TUNING=off`; returns the flags applied. */
export function tuneForStreaming(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  if (env.DPC_V8_TUNING?.toLowerCase() === 'off') return [];
  for (const flag of STREAMING_V8_FLAGS) setFlagsFromString(flag);
  return STREAMING_V8_FLAGS;
}
