import { markedNumberText, pyKeys } from './py-json-marks';
import { pyFloatRepr } from './py-format';

/** What JSON.stringify leaves as it is but ensure_ascii escapes: DEL and everything past ASCII (UTF-16 units). */
const NOT_ASCII = /[^\x20-\x7e]/g;
const asciiEscape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * json.dumps's string with ensure_ascii. JSON.stringify already writes \" \\ \n \r \t \b \f, the
 * other control characters and lone surrogates as lowercase \u00XX as Python does; the rest outside
 * printable ASCII becomes \uXXXX here. Both are linear: a megabytes-long message costs milliseconds.
 */
function jsonString(text: string): string {
  return JSON.stringify(text).replace(NOT_ASCII, asciiEscape);
}

function numberText(value: number, holder: object | undefined, key: string): string {
  const marked = holder && markedNumberText(holder, key, value);
  if (marked !== undefined) return marked;
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  // Unmarked whole numbers are Python ints; anything else can only be a float, printed as repr() does.
  return Number.isInteger(value) ? JSON.stringify(value) : pyFloatRepr(value);
}

function dump(value: unknown, holder: object | undefined, key: string): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return numberText(value, holder, key);
  if (typeof value === 'string') return jsonString(value);
  if (Array.isArray(value)) return `[${value.map((item, index) => dump(item, value, String(index))).join(', ')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const entries = pyKeys(record)
      .filter((k) => record[k] !== undefined)
      .map((k) => `${jsonString(k)}: ${dump(record[k], record, k)}`);
    return `{${entries.join(', ')}}`;
  }
  return 'null';
}

/**
 * json.dumps() with its default separators (", " and ": ") and ensure_ascii. Values that came from
 * pyJsonLoads print as Python would print them: floats as floats (7.0), ints exactly, dict keys in
 * their original order (see py-json-marks).
 */
export function pyJsonDumps(value: unknown): string {
  return dump(value, undefined, '');
}
