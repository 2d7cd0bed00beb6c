export type AttributeType = 'string' | 'number' | 'boolean';

export interface TypedAttribute {
  key: string;
  type: AttributeType;
  value: string | number | boolean;
}

const NUMBER_TYPES = new Set(['number', 'numeric', 'integer', 'int', 'float', 'double', 'decimal', 'real']);
const BOOLEAN_TYPES = new Set(['boolean', 'bool']);
const TRUE = new Set(['true', 't', 'yes', 'y', '1', 'on']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0', 'off']);
// Only plain decimals are guessed to be numbers: "007" or "1e3" in an untyped column are more likely codes.
const PLAIN_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** The snake_case key the new schema requires ("Dominant Hand" → dominant_hand). */
export function attributeKey(name: string): string {
  const key = name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 100);
  return /^[a-z]/.test(key) ? key : `attr_${key || 'unnamed'}`;
}

/**
 * Converts one legacy text-valued attribute into a typed one. The declared type wins; an
 * undeclared one is inferred. A value that does not fit its declared type is kept as a string,
 * and `problem` says why, so nothing is lost silently.
 */
export function mapAttribute(name: string, raw: string, declaredType: string | null): TypedAttribute & { problem?: string } {
  const key = attributeKey(name);
  const text = raw.trim();
  const declared = declaredType?.trim().toLowerCase() || null;
  const asString = (problem?: string) => ({ key, type: 'string' as const, value: raw, ...(problem ? { problem } : {}) });

  if (declared && NUMBER_TYPES.has(declared)) {
    const value = Number(text);
    return text !== '' && Number.isFinite(value) ? { key, type: 'number', value } : asString(`"${raw}" is not a ${declared}`);
  }
  if (declared && BOOLEAN_TYPES.has(declared)) {
    const lower = text.toLowerCase();
    if (TRUE.has(lower)) return { key, type: 'boolean', value: true };
    if (FALSE.has(lower)) return { key, type: 'boolean', value: false };
    return asString(`"${raw}" is not a boolean`);
  }
  if (declared) return asString();
  if (text === 'true' || text === 'false') return { key, type: 'boolean', value: text === 'true' };
  if (PLAIN_NUMBER.test(text)) return { key, type: 'number', value: Number(text) };
  return asString();
}
