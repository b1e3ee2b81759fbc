/**
 * The terminal is a trust boundary: text that came from a server (error bodies, OperationOutcome reasons, ids) may
 * carry ANSI escapes (`ESC[2J` clears the screen, `ESC]0;` retitles the window), bidirectional overrides that reorder
 * what is shown, or a newline that forges a line of our own (`\nerror: …`). This is the one escaping function: the
 * transport applies it to server text it keeps, the CLI's Output to everything it prints.
 */

/** C0 controls, DEL, C1 controls (a lone U+009B is a CSI on some terminals) and bidirectional overrides. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const visible = (char: string): string => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Pure: every control character made visible as `\u001b`; the result is one line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, visible);
}

/** Pure: as escapeControl, but line breaks we composed ourselves (multi-line results, tables) are kept. */
export function escapeControlKeepLines(text: string): string {
  return text.replace(CONTROL_BUT_NEWLINE, visible);
}

/** Pure: JSON.stringify leaves DEL, C1 and bidi controls raw; JSON for a terminal escapes them too (still valid JSON). */
export function jsonForTerminal(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, visible);
}
