/** A JSON value as JSON.parse produces it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * RFC 7396 (JSON Merge Patch), section 2, as written: a patch that is not an object replaces the
 * target; in an object patch, null deletes a key and any other value is merged into it, so arrays
 * are replaced whole. Neither input is changed.
 *
 * Keys are written as own data properties, so a `"__proto__"` key from JSON.parse stays a plain key
 * and never reaches a prototype. Recursion follows the patch's depth, which the JSON body parser
 * already bounds (body-depth-guard).
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isObject(target)) for (const key of Object.keys(target)) define(result, key, target[key]);
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete result[key];
    else define(result, key, applyMergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

function define(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}
