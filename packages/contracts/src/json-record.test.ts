import { z } from 'zod';
import { jsonRecord } from './json-record';

describe('jsonRecord', () => {
  const counts = jsonRecord(z.string(), z.number());

  it('when a JSON object holds a "__proto__" key, then it is refused naming that key, not dropped', () => {
    const result = counts.safeParse(JSON.parse('{"a":1,"__proto__":2}'));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([['__proto__']]);
  });

  it('when a JSON object holds ordinary keys, including "constructor", then it parses as z.record does', () => {
    expect(counts.parse(JSON.parse('{"a":1,"constructor":2}'))).toEqual({ a: 1, constructor: 2 });
    expect(counts.safeParse(JSON.parse('{"a":"x"}')).error?.issues.map((i) => i.path)).toEqual([['a']]);
  });

  it('when rendered as JSON Schema, then the record says it too', () => {
    expect(z.toJSONSchema(counts, { io: 'input' })).toMatchObject({ type: 'object', allOf: [{ propertyNames: { not: { const: '__proto__' } } }], additionalProperties: { type: 'number' } });
  });
});
