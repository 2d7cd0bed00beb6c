import type { CharacterAttributes } from '@anime/contracts';

/** One typed row per attribute; the type is stored so a reader need not guess from the JSON. */
export function attributeRows(attributes: CharacterAttributes): { key: string; type: 'string' | 'number' | 'boolean'; value: string | number | boolean }[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, type: typeof value as 'string' | 'number' | 'boolean', value }));
}
