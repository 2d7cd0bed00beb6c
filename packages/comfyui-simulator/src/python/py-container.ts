import { pyTypeName } from './py-convert';
import { PyException } from './py-exception';
import { pyKeys } from './py-json-marks';

const isDict = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `key in value` for a str key on what json.loads gave: a dict's keys, a list's items (only an equal
 * str), a str's substrings; any other value raises TypeError ("argument of type 'int' is not iterable").
 */
export function pyContains(value: unknown, key: string): boolean {
  if (isDict(value)) return Object.prototype.hasOwnProperty.call(value, key);
  if (Array.isArray(value)) return value.includes(key);
  if (typeof value === 'string') return value.includes(key);
  throw new PyException('TypeError', `argument of type '${pyTypeName(value)}' is not iterable`);
}

/** `value[key]` for a str key: a dict's item (KeyError when absent); a list or a str raises TypeError. */
export function pyGetItem(value: unknown, key: string): unknown {
  if (isDict(value)) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) throw new PyException('KeyError', `'${key}'`);
    return value[key];
  }
  if (Array.isArray(value)) throw new PyException('TypeError', 'list indices must be integers or slices, not str');
  if (typeof value === 'string') throw new PyException('TypeError', 'string indices must be integers');
  throw new PyException('TypeError', `'${pyTypeName(value)}' object is not subscriptable`);
}

/** `for item in value`: a list's items, a str's characters, a dict's keys in order; else TypeError. */
export function pyIterate(value: unknown): unknown[] {
  if (Array.isArray(value)) return [...value];
  if (typeof value === 'string') return [...value];
  if (isDict(value)) return pyKeys(value);
  throw new PyException('TypeError', `'${pyTypeName(value)}' object is not iterable`);
}

/** hash(value) would succeed: a list or a dict raises TypeError ("unhashable type: 'list'"). */
export function assertHashable(value: unknown): void {
  if (Array.isArray(value) || isDict(value)) throw new PyException('TypeError', `unhashable type: '${pyTypeName(value)}'`);
}
