import { z } from 'zod';

// PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate cannot be encoded as UTF-8:
// both would surface as a 500 from the database, so they are refused at the boundary.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE = new RegExp(`\u0000|${LONE_SURROGATE.source}`, 'g');

export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/** Text from outside (a receiver's answer, say) made storable: each NUL and lone surrogate becomes U+FFFD. */
export function toStorableText(value: string): string {
  return value.replace(UNSTORABLE, '\uFFFD');
}

export const STORABLE_TEXT_MESSAGE = 'must not contain NUL characters or lone UTF-16 surrogates';

export const storableText = () => z.string().refine(isStorableText, { message: STORABLE_TEXT_MESSAGE });

/** Every string anywhere inside a JSON value must be storable. */
export function jsonIsStorable(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(jsonIsStorable);
  if (value && typeof value === 'object') {
    return Object.entries(value).every(([k, v]) => isStorableText(k) && jsonIsStorable(v));
  }
  return true;
}

/** The path to the first key or string inside a JSON value that is not storable, or null when all are. */
export function unstorablePath(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return isStorableText(value) ? null : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorablePath(value[i], [...path, i]);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (!isStorableText(key)) return [...path, key];
      const found = unstorablePath(inner, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}
