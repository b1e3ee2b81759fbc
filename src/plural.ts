/** Pure: `plural(1, 'patient')` → `1 patient`, `plural(3, 'patient')` → `3 patients` (irregular forms passed in). */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}
