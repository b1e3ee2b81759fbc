/**
 * Pure: yargs' `Unknown arguments: jsn, out-dir, outDir` for flags the user typed becomes
 * `unknown flag --jsn; did you mean --json?`, as git and gh answer a typo. Known flags come from the yargs context
 * of the command that failed (its own options and the global ones).
 */

/** Levenshtein distance, small strings only. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** The known flag closest to a typo (within a third of its length, at least 1), or undefined. */
export function closestFlag(typed: string, known: readonly string[]): string | undefined {
  let best: { flag: string; distance: number } | undefined;
  for (const flag of known) {
    const distance = flag.startsWith(typed) && typed.length >= 3 ? 1 : editDistance(typed, flag);
    if (distance <= Math.max(1, Math.floor(typed.length / 3)) && (best === undefined || distance < best.distance)) best = { flag, distance };
  }
  return best?.flag;
}

/** `--jsn` / `-x` as the user typed it, for a name yargs reports as unknown; undefined when it was not a flag. */
function typedFlag(args: readonly string[], name: string): string | undefined {
  return args.map((a) => a.split('=')[0]!).find((a) => a === `--${name}` || a === `-${name}`);
}

export function unknownFlagMessage(args: readonly string[], message: string, knownFlags: readonly string[]): string | undefined {
  const list = /^Unknown arguments?: (.+)$/.exec(message)?.[1];
  if (list === undefined) return undefined;
  // yargs lists a dashed flag twice (out-dir, outDir): keep what the user typed
  const typed = list.split(', ').map((name) => typedFlag(args, name)).filter((f): f is string => f !== undefined);
  if (typed.length === 0) return undefined;
  const known = knownFlags.filter((k) => k.length > 1 && !/[A-Z]/.test(k));
  const parts = typed.map((flag) => {
    const suggestion = closestFlag(flag.replace(/^-+/, ''), known);
    return `unknown flag ${flag}${suggestion ? `; did you mean --${suggestion}?` : ''}`;
  });
  return `${parts.join('; ')} (\`--help\` lists the flags)`;
}
