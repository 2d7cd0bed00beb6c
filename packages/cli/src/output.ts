import { MAX_ANSWER_BYTES } from './api-client';
import { CliError, printable } from './cli-error';

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

/**
 * The most of a `printJsonItems` document held back until its last page has come: as much as one
 * answer the CLI reads (MAX_ANSWER_BYTES), counted in UTF-16 units as JavaScript's strings are.
 */
export const HELD_JSON_CHARS = MAX_ANSWER_BYTES;

/**
 * Prints `{ "items": [...], "nextCursor": null }` exactly as printJson prints that document, the
 * items taken page by page as `pages` yields them: a long list (a character's versions, up to ~3.4 MB
 * each) is never held whole. Up to `holdChars` of it is held until the last page has come, so a walk
 * that fails there prints nothing of the document: stdout holds only what any failed command prints
 * (with --json, the gateway's error body). Past that it is written as it comes, waiting while
 * stdout's reader is behind; a walk failing then leaves the document unfinished, never one that
 * parses as the whole list, and the error says so (without the error body, which would follow the
 * unfinished document on stdout).
 */
export async function printJsonItems(pages: AsyncIterable<unknown[]>, holdChars = HELD_JSON_CHARS): Promise<void> {
  let count = 0;
  let held: string[] | null = [];
  let heldChars = 0;
  const emit = async (text: string) => {
    if (held === null) return writeOut(text);
    held.push(text);
    heldChars += text.length;
    if (heldChars <= holdChars) return;
    const parts = held;
    held = null;
    for (const part of parts) await writeOut(part);
  };
  try {
    for await (const items of pages) {
      for (const item of items) {
        // An item's lines, indented as JSON.stringify(..., null, 2) indents an element of `items` (a
        // string in JSON holds no line break, so every line break is the layout's).
        const text = JSON.stringify(item, null, 2).replace(/\n/g, '\n    ');
        await emit(`${count === 0 ? '{\n  "items": [\n' : ',\n'}    ${text}`);
        count += 1;
      }
    }
  } catch (error) {
    throw held === null ? cutShort(error, count) : error;
  }
  await emit(count === 0 ? '{\n  "items": [],\n  "nextCursor": null\n}\n' : '\n  ],\n  "nextCursor": null\n}\n');
  for (const part of held ?? []) await writeOut(part);
}

/** A failure after `count` items were written: said with it that stdout holds an unfinished document. */
function cutShort(error: unknown, count: number): unknown {
  const note = `stdout holds the first ${count} items of an unfinished JSON document`;
  if (error instanceof CliError) return new CliError(`${error.message}; ${note}`, error.exitCode);
  if (error instanceof Error) error.message = `${error.message}; ${note}`;
  return error;
}

async function writeOut(text: string): Promise<void> {
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => {
    // A reader gone meanwhile (EPIPE) ends the process from main's 'error' handler; 'close' is no drain.
    const done = () => {
      process.stdout.off('drain', done);
      process.stdout.off('close', done);
      resolve();
    };
    process.stdout.once('drain', done);
    process.stdout.once('close', done);
  });
}
