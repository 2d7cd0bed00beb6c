/** JSON text with object keys sorted at every depth: equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface VersionContent {
  definition: unknown;
  attributes: Record<string, unknown>;
  /** sha256 of each reference the version was made with. */
  referenceSha256s: string[];
}

/**
 * What makes two versions the same for an import: definition, attributes and the set of
 * reference images. Number, note and date are history, not content.
 */
export function versionContentKey(content: VersionContent): string {
  return canonicalJson({ definition: content.definition, attributes: content.attributes, references: [...new Set(content.referenceSha256s)].sort() });
}
