import { markedNumberText, pyKeys } from './py-json-marks';
import { pyFloatRepr } from './py-format';

/** Printable ASCII without '"' or '\\': such a string (most keys and values) is written as it is. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    // ensure_ascii=True: everything outside printable ASCII becomes \uXXXX (UTF-16 units, as Python does).
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
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
