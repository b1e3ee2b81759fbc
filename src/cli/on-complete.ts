/**
 * `--on-complete CMD`: when a group's run is complete, run the user's command with the run's manifest path, so
 * downstream loading starts without polling. CMD is the user's own text and runs under `/bin/sh -c` as they wrote it;
 * the manifest path (which holds server-chosen names) is never put into that text: it goes in as a separate argument,
 * appended with `"$1"`, and as `DPC_MANIFEST`, so nothing a server says can become shell syntax.
 */
import { spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { DpcError } from '../errors.js';
import { cliProcess } from './cli-process.js';
import type { GroupResult } from '../export/index.js';

/** The last bytes of the command's stderr kept for the failure message. */
const STDERR_TAIL_BYTES = 500;

/** Environment of the command: ours plus the run it is about. Pure. */
function onCompleteEnv(group: GroupResult, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const manifestPath = group.manifestPath!;
  return {
    ...base,
    DPC_MANIFEST: manifestPath,
    DPC_EXPORT_LABEL: group.label,
    DPC_EXPORT_RUN: basename(dirname(manifestPath)),
    ...(group.groupId === undefined ? {} : { DPC_GROUP_ID: group.groupId }),
    ...(group.npi === undefined ? {} : { DPC_NPI: group.npi }),
  };
}

/** A hook for `onGroupComplete` that runs `command`; resolves when it exits 0, rejects naming its exit otherwise. */
export function onCompleteCommand(command: string, env: NodeJS.ProcessEnv = cliProcess().env): (group: GroupResult) => Promise<void> {
  return (group) =>
    new Promise((resolve, reject) => {
      const manifestPath = group.manifestPath!;
      // stdout is not ours to share (it carries the run's summary or --json); stderr is kept for a failure's message
      const child = spawn('/bin/sh', ['-c', `${command} "$1"`, 'dpc-on-complete', manifestPath], { env: onCompleteEnv(group, env), stdio: ['ignore', 'ignore', 'pipe'] });
      let tail = '';
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        tail = (tail + text).slice(-STDERR_TAIL_BYTES);
      });
      child.once('error', (error) => reject(new DpcError('ERR_HOOK', `on-complete command could not start: ${error.message}`, { cause: error })));
      child.once('close', (code, signal) => {
        if (code === 0) return resolve();
        const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
        const said = tail.trim().split('\n').pop();
        reject(new DpcError('ERR_HOOK', `on-complete command ${how} for ${manifestPath}${said ? ` (${said})` : ''}`, { location: manifestPath }));
      });
    });
}
