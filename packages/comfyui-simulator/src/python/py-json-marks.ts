import { pyFloatRepr } from './py-format';

/**
 * What a JavaScript value loses of the Python one json.loads made, kept beside it so json.dumps can
 * give the real text back: Python tells 7.0 (float) from 7 (int), keeps ints of any size, and keeps a
 * dict's keys in the order they came, where JavaScript moves integer-like keys ("10", "3") first.
 * Both live on the holding object or array under symbols, so they never show up as data.
 */
const NUMBER_TEXT = Symbol('python number text');
const KEY_ORDER = Symbol('python key order');

type Holder = Record<PropertyKey, unknown>;
type NumberTexts = Map<string, { value: number; text: string }>;

/** json.dumps of a Python float: repr(), with NaN and Infinity spelled as json.dumps spells them. */
export function jsonFloatText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return pyFloatRepr(value);
}

function texts(holder: object, create: boolean): NumberTexts | undefined {
  const own = (holder as Holder)[NUMBER_TEXT] as NumberTexts | undefined;
  if (own || !create) return own;
  const made: NumberTexts = new Map();
  Object.defineProperty(holder, NUMBER_TEXT, { value: made, enumerable: false });
  return made;
}

/** Records that holder[key] (now `value`) prints as `text` in Python. */
export function markNumber(holder: object, key: string, value: number, text: string): void {
  texts(holder, true)!.set(key, { value, text });
}

/** holder[key] = value is now a Python float, as float() or a float literal makes it. */
export function markFloat(holder: object, key: string, value: number): void {
  markNumber(holder, key, value, jsonFloatText(value));
}

export function clearNumberMark(holder: object, key: string): void {
  texts(holder, false)?.delete(key);
}

/** The Python text of holder[key], if it was marked and still holds the marked value. */
export function markedNumberText(holder: object, key: string, value: number): string | undefined {
  const mark = texts(holder, false)?.get(key);
  return mark && Object.is(mark.value, value) ? mark.text : undefined;
}

/** True when holder[key] was marked as a Python int (a literal too large for a double). */
export function isMarkedInt(holder: object, key: string, value: number): boolean {
  const text = markedNumberText(holder, key, value);
  return text !== undefined && /^-?\d+$/.test(text);
}

export function setKeyOrder(holder: object, order: string[]): void {
  Object.defineProperty(holder, KEY_ORDER, { value: order, enumerable: false });
}

/** The keys of a dict in Python's order: as they came, then the keys added since. */
export function pyKeys(holder: object): string[] {
  const keys = Object.keys(holder);
  const order = (holder as Holder)[KEY_ORDER] as string[] | undefined;
  if (!order) return keys;
  const present = new Set(keys);
  const first = order.filter((key) => present.has(key));
  const seen = new Set(first);
  return [...first, ...keys.filter((key) => !seen.has(key))];
}

/** dict.copy(): a shallow copy that keeps the key order and the number forms. */
export function pyDictCopy(source: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  const order = pyKeys(source);
  for (const key of order) copy[key] = source[key];
  setKeyOrder(copy, order);
  const marks = texts(source, false);
  if (marks) for (const [key, mark] of marks) markNumber(copy, key, mark.value, mark.text);
  return copy;
}
