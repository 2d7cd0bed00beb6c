/**
 * JSON.parse reads a number literal too large for a double (`1e999`) as Infinity, which JSON cannot
 * hold: stored, it silently becomes `null`. Schemas type their own numbers (zod refuses Infinity);
 * this is for the free-form JSON kept as sent (a template's graph, a definition's imported keys).
 */
export const FINITE_NUMBERS_MESSAGE = 'must not hold numbers too large for JSON (they would be stored as null)';

/** Whether every number anywhere inside a JSON value (bounded depth: see jsonDeeperThan) is finite. */
export function jsonNumbersAreFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(jsonNumbersAreFinite);
  if (value && typeof value === 'object') return Object.values(value).every(jsonNumbersAreFinite);
  return true;
}
