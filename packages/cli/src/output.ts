import { printable } from './cli-error';

/** Prints rows as aligned columns, or the raw value as JSON with --json. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (!rows.length) {
    console.log('(none)');
    return;
  }
  const cell = (value: unknown) => (value === null || value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : printable(String(value)));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => columnsTaken(cell(r[c])))));
  const line = (values: string[]) => values.map((v, i) => v + ' '.repeat(widths[i] - columnsTaken(v))).join('  ').trimEnd();
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
}

/**
 * How many terminal columns a text takes: CJK characters, kana and emoji two each, combining marks
 * and joiners none, others one (a name like 中村 カイ keeps its table aligned; String.length counts
 * UTF-16 units, so such a row came out short of its columns).
 */
export function columnsTaken(text: string): number {
  let columns = 0;
  for (const char of text) {
    if (/[\p{Mn}\p{Me}\u200b-\u200f\ufe00-\ufe0f]/u.test(char)) continue;
    columns += /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u.test(char) ? 2 : 1;
  }
  return columns;
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
