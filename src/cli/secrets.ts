/**
 * The secrets one `dpc` invocation knows (flags, env, config file, and whatever its client receives), so Output can
 * mask them. One Redactor per invocation: runCli starts each with an empty one, so nothing piles up across runs.
 */
import { Redactor } from '../redact.js';

let current = new Redactor();

/** This invocation's redactor: Output redacts with it, and clientFor hands it to createClient. */
export function cliRedactor(): Redactor {
  return current;
}

/** Start an invocation knowing no secrets. */
export function resetCliRedactor(): void {
  current = new Redactor();
}
