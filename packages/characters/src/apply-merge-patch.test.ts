import { applyMergePatch } from './apply-merge-patch';

// RFC 7396, Appendix A: every example, as original, patch and result.
const RFC_EXAMPLES: [unknown, unknown, unknown][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('applyMergePatch (RFC 7396)', () => {
  it.each(RFC_EXAMPLES)('when %j is patched with %j, then it becomes %j', (original, patch, result) => {
    expect(applyMergePatch(original, patch)).toEqual(result);
  });

  it("when the RFC's section 3 example is applied, then the title changes, the phone number appears, the family name goes and the tags are replaced", () => {
    const original = { title: 'Goodbye!', author: { givenName: 'John', familyName: 'Doe' }, tags: ['example', 'sample'], content: 'This will be unchanged' };
    const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
    expect(applyMergePatch(original, patch)).toEqual({
      title: 'Hello!', author: { givenName: 'John' }, tags: ['example'], content: 'This will be unchanged', phoneNumber: '+01-123-456-7890',
    });
  });

  it('when patching, then neither the target nor the patch is changed', () => {
    const target = { a: { b: 1 }, c: [1] };
    const patch = { a: { b: null, d: 2 } };
    applyMergePatch(target, patch);
    expect(target).toEqual({ a: { b: 1 }, c: [1] });
    expect(patch).toEqual({ a: { b: null, d: 2 } });
  });

  it('when a patch carries a "__proto__" key, then it stays a plain key and no prototype changes', () => {
    const patch = JSON.parse('{ "__proto__": { "polluted": true }, "a": 1 }');
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(result).sort()).toEqual(['__proto__', 'a']);
    expect(JSON.parse(JSON.stringify(result))).toEqual(patch);
  });
});
