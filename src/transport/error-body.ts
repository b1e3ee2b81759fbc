/**
 * Pulls the human message out of any of DPC's error bodies (server behaviour §0.2):
 * FHIR OperationOutcome, Dropwizard `{code,message}`, validation `{id,errors[]}`, or plain text.
 */
export function parseErrorBody(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return oneLine(trimmed);
  }
  if (typeof parsed === 'string') return oneLine(parsed);
  if (parsed === null || typeof parsed !== 'object') return oneLine(trimmed);
  const body = parsed as Record<string, unknown>;

  if (body.resourceType === 'OperationOutcome' && Array.isArray(body.issue)) {
    const texts = body.issue
      .map((issue: unknown) => issueText(issue))
      .filter((t): t is string => t !== undefined);
    return texts.length > 0 ? oneLine(texts.join('; ')) : undefined;
  }
  if (Array.isArray(body.errors)) {
    const texts = body.errors.filter((e): e is string => typeof e === 'string');
    if (texts.length > 0) return oneLine(texts.join('; '));
  }
  if (typeof body.message === 'string') return oneLine(body.message);
  if (typeof body.error_description === 'string') return oneLine(body.error_description);
  if (typeof body.error === 'string') return oneLine(body.error);
  return oneLine(trimmed);
}

function issueText(issue: unknown): string | undefined {
  if (issue === null || typeof issue !== 'object') return undefined;
  const i = issue as { details?: { text?: unknown }; diagnostics?: unknown };
  if (typeof i.details?.text === 'string') return i.details.text;
  if (typeof i.diagnostics === 'string') return i.diagnostics;
  return undefined;
}

const MAX_MESSAGE = 500;

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}
