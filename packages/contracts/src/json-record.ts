import { z } from 'zod';

const PROTO = '__proto__';

/**
 * `z.record` for JSON from outside, refusing a `"__proto__"` key. JSON.parse makes that key an own
 * property, but z.record skips it (assigning it to the copy would set the copy's prototype), so a
 * parameter, node or input named so would vanish without a word. It is refused instead, before
 * zod copies the object, and the published JSON Schema says so as well (as a property-name rule:
 * validators read `required: ["__proto__"]` through the prototype, so every object would have it).
 */
export function jsonRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V, params?: string | z.core.$ZodRecordParams) {
  const record = z.record(key, value, params);
  return z
    .preprocess((input: z.input<typeof record>, ctx) => {
      if (typeof input === 'object' && input !== null && Object.hasOwn(input, PROTO)) {
        ctx.addIssue({ code: 'custom', path: [PROTO], message: `"${PROTO}" is not allowed as a key`, input });
      }
      return input;
    }, record)
    .meta({ allOf: [{ propertyNames: { not: { const: PROTO } } }] });
}
