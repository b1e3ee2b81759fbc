/**
 * The terminal is a trust boundary: text that came from a server (error bodies, OperationOutcome reasons, ids) may
 * carry ANSI escapes (`ESC[2J` clears the screen, `ESC]0;` retitles the window) or a newline that forges a line of
 * our own (`\nerror: …`). Output escapes every control character before printing; this is the one place it is done.
 */

/** C0 controls, DEL and C1 controls (U+0080–U+009F: a lone U+009B is a CSI on some terminals). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const CONTROL_BUT_LINES = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(char: string): string {
  return NAMED[char] ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** Pure: every control character made visible (`\x1b`, `\n`); the result is one line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, visible);
}

/** Pure: as escapeControl, but line breaks we composed ourselves (multi-line results, tables) are kept. */
export function escapeControlKeepLines(text: string): string {
  return text.replace(CONTROL_BUT_LINES, visible);
}

/** Pure: JSON.stringify leaves DEL and C1 controls raw; a JSON line for a terminal escapes them too (still valid JSON). */
export function jsonForTerminal(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
