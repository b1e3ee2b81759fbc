/**
 * Library errors name the option at fault by its field (`since`, `outDir`); a CLI user set it with a flag, so the
 * CLI speaks of the flag instead.
 */
import type { DpcError } from '../errors.js';

/** How a CLI user sets each library field. */
const FLAG_FOR_FIELD: Readonly<Record<string, string>> = {
  since: '--since',
  types: '--type',
  npi: '--npi',
  groupId: '--group',
  outDir: '--out',
  label: '--label',
  expiresAt: '--expires',
  dir: '--dir',
  within: '--within',
  members: '--patients',
  pollInterval: '--poll-interval',
  maxWait: '--max-wait',
  maxWaitMs: '--max-wait',
  tokenUrl: '--token-url',
  baseUrl: '--base-url',
  maxFileBytes: '--max-file-size',
  memoryLimitBytes: '--memory-limit',
  elements: '--elements',
  typeFilter: '--type-filter',
  patients: '--patient',
  passphrase: '--passphrase-file or DPC_KEY_PASSPHRASE',
  credentials: '`dpc init`, DPC_CLIENT_TOKEN/DPC_PRIVATE_KEY/DPC_KEY_ID or flags',
};

/**
 * Pure: the error's message as the CLI prints it. A message that opens with the field (`since "x" is in the
 * future`) opens with the flag instead; otherwise how to set the field follows in brackets.
 */
export function cliMessage(error: Pick<DpcError, 'message' | 'field'>): string {
  const flag = error.field === undefined || !Object.hasOwn(FLAG_FOR_FIELD, error.field) ? undefined : FLAG_FOR_FIELD[error.field]!;
  if (flag === undefined) return error.message;
  const opening = new RegExp(`^${error.field}(?=[ :])`);
  if (/^--[a-z-]+$/.test(flag) && opening.test(error.message)) return error.message.replace(opening, flag);
  return `${error.message} (${flag})`;
}
