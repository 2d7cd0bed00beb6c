import type { CharacterAttributes } from '@anime/contracts';

export type AttributeType = 'string' | 'number' | 'boolean';

/** One typed row per attribute; the type is stored so a reader need not guess from the JSON. */
export function attributeRows(attributes: CharacterAttributes): { key: string; type: AttributeType; value: string | number | boolean }[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, type: typeof value as AttributeType, value }));
}

/** The record a version's attribute rows stand for, as the API shows it and diffs compare it. */
export function attributesRecord(rows: { key: string; value: unknown }[]): Record<string, unknown> {
  return Object.fromEntries(rows.map((a) => [a.key, a.value]));
}
