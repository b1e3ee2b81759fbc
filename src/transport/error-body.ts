/**
 * Pulls the human message out of any of DPC's error bodies (server behaviour §0.2):
 * FHIR OperationOutcome, Dropwizard `{code,message}`, validation `{id,errors[]}`, or plain text.
 */
import { escapeControl } from '../escape.js';

export function parseErrorBody(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return serverText(trimmed);
  }
  if (typeof parsed === 'string') return serverText(parsed);
  if (parsed === null || typeof parsed !== 'object') return serverText(trimmed);
  const body = parsed as Record<string, unknown>;

  if (body.resourceType === 'OperationOutcome' && Array.isArray(body.issue)) {
    const texts = body.issue
      .map((issue: unknown) => issueText(issue))
      .filter((t): t is string => t !== undefined);
    return texts.length > 0 ? serverText(texts.join('; ')) : undefined;
  }
  if (Array.isArray(body.errors)) {
    const texts = body.errors.filter((e): e is string => typeof e === 'string');
    if (texts.length > 0) return serverText(texts.join('; '));
  }
  if (typeof body.message === 'string') return serverText(body.message);
  if (typeof body.error_description === 'string') return serverText(body.error_description);
  if (typeof body.error === 'string') return serverText(body.error);
  return serverText(trimmed);
}

function issueText(issue: unknown): string | undefined {
  if (issue === null || typeof issue !== 'object') return undefined;
  const i = issue as { details?: { text?: unknown }; diagnostics?: unknown };
  if (typeof i.details?.text === 'string') return i.details.text;
  if (typeof i.diagnostics === 'string') return i.diagnostics;
  return undefined;
}

const MAX_MESSAGE = 500;

/**
 * Server text made fit to print and store: one line, control characters escaped (`ESC[2J` arrives as `\u001b[2J`, so
 * a terminal shows it instead of obeying it), and at most `max` characters with a marker saying how long it was. Only
 * a bounded head of a huge text is examined. Pure.
 */
export function serverText(text: string, max: number = MAX_MESSAGE): string {
  const head = text.length > max * 2 ? text.slice(0, max * 2) : text;
  const flat = escapeControl(head.replace(/\s+/g, ' ').trim());
  if (flat.length <= max && head.length === text.length) return flat;
  return `${flat.slice(0, max)}… [truncated, ${text.length} characters]`;
}
