import { canonicalJson, versionContentKey } from './version-content-key';

describe('versionContentKey', () => {
  it('when only key order, reference order or repeats differ, then the keys are equal', () => {
    const a = versionContentKey({ definition: { b: 1, a: { y: [1, 2], x: null } }, attributes: { k: 'v', j: true }, referenceSha256s: ['2', '1', '2'] });
    const b = versionContentKey({ definition: { a: { x: null, y: [1, 2] }, b: 1 }, attributes: { j: true, k: 'v' }, referenceSha256s: ['1', '2'] });
    expect(a).toBe(b);
  });

  it('when a value, an array order or the reference set differs, then the keys differ', () => {
    const base = { definition: { list: [1, 2] }, attributes: { n: 1 }, referenceSha256s: ['1'] };
    const key = versionContentKey(base);
    expect(versionContentKey({ ...base, definition: { list: [2, 1] } })).not.toBe(key);
    expect(versionContentKey({ ...base, attributes: { n: '1' } })).not.toBe(key);
    expect(versionContentKey({ ...base, referenceSha256s: ['1', '3'] })).not.toBe(key);
  });

  it('when a property is undefined, then it counts as absent, as it would in stored JSON', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });
});
