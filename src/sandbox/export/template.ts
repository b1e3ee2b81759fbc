/**
 * Pre-compiled JSON text templates. Synthetic exports render tens of thousands of ~50 KB resources, so
 * instead of cloning and re-serialising an object per resource, a template resource is serialised once
 * with slot markers and each resource is the literal parts joined with its slot values.
 *
 * Markers: `@@name@@` inside a JSON string is replaced by raw text (the caller supplies JSON-string-safe
 * values: digits, dates, ids); a whole JSON string `"@@#name@@"` (quotes included) is replaced by a raw
 * JSON value, which is how numbers are substituted.
 */

export interface CompiledTemplate {
  /** Literal JSON text; `parts.length === slots.length + 1`. */
  readonly parts: readonly string[];
  readonly slots: readonly string[];
}

const MARKER = /"@@#([A-Za-z0-9_]+)@@"|@@([A-Za-z0-9_]+)@@/g;

/** Marker for a slot inside a string value. */
export const textSlot = (name: string): string => `@@${name}@@`;
/** Marker for a slot that replaces a whole JSON value (set it as the string value). */
export const valueSlot = (name: string): string => `@@#${name}@@`;

export function compileTemplate(jsonText: string): CompiledTemplate {
  const parts: string[] = [];
  const slots: string[] = [];
  let last = 0;
  for (const match of jsonText.matchAll(MARKER)) {
    parts.push(jsonText.slice(last, match.index));
    slots.push(match[1] ?? match[2] ?? '');
    last = match.index + match[0].length;
  }
  parts.push(jsonText.slice(last));
  return { parts, slots };
}

export function renderTemplate(template: CompiledTemplate, values: Readonly<Record<string, string>>): string {
  // One join builds a flat string; `+=` would build a deep rope that is slow to flatten when written out.
  const pieces: string[] = [template.parts[0] ?? ''];
  for (let i = 0; i < template.slots.length; i++) {
    const name = template.slots[i] as string;
    const value = values[name];
    if (value === undefined) throw new Error(`template slot "${name}" has no value`);
    pieces.push(value, template.parts[i + 1] ?? '');
  }
  return pieces.join('');
}
