export interface Change {
  /** JSON pointer (RFC 6901) into the version: definition fields at the root, attributes under `/attributes`. */
  path: string;
  /** null when the field is absent on that side. */
  before: unknown;
  after: unknown;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

// "~" and "/" inside a key are escaped so that the pointer splits back into the same keys.
export const pointerSegment = (key: string | number): string => String(key).replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Leaf-level differences between two JSON values. Objects and arrays are walked (arrays by
 * index); anything else, or a value present on one side only, is one change at its own path.
 */
export function diffJson(before: unknown, after: unknown, path = ''): Change[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((key) => !Object.hasOwn(before, key))];
    return keys.flatMap((key) => diffJson(before[key], after[key], `${path}/${pointerSegment(key)}`));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, i) => diffJson(before[i], after[i], `${path}/${i}`)).flat();
  }
  if (before === after || (isEmpty(before) && isEmpty(after))) return [];
  return [{ path, before: before ?? null, after: after ?? null }];
}

const isEmpty = (value: unknown) => value === undefined || value === null;

export interface DiffableVersion {
  definition: unknown;
  attributes: Record<string, unknown>;
}

/** What changed from one version to another, definition first, then attributes. */
export function diffVersions(from: DiffableVersion, to: DiffableVersion): Change[] {
  return [...diffJson(from.definition, to.definition), ...diffJson(from.attributes, to.attributes, '/attributes')];
}
