import { diffJson, diffVersions } from './diff-versions';

describe('diffJson', () => {
  it('when nothing differs, then there are no changes', () => {
    const value = { a: 1, b: { c: ['x', 'y'] }, d: true };
    expect(diffJson(value, structuredClone(value))).toEqual([]);
  });

  it('when a nested field changes, then the change names it by JSON pointer', () => {
    expect(diffJson({ appearance: { hair: 'black', eyes: 'amber' } }, { appearance: { hair: 'silver', eyes: 'amber' } })).toEqual([
      { path: '/appearance/hair', before: 'black', after: 'silver' },
    ]);
  });

  it('when a field is added or removed, then the absent side is null', () => {
    expect(diffJson({ a: 1 }, { b: 2 })).toEqual([
      { path: '/a', before: 1, after: null },
      { path: '/b', before: null, after: 2 },
    ]);
  });

  it('when an array grows or an element changes, then each index is a change of its own', () => {
    expect(diffJson({ tags: ['a', 'b'] }, { tags: ['a', 'c', 'd'] })).toEqual([
      { path: '/tags/1', before: 'b', after: 'c' },
      { path: '/tags/2', before: null, after: 'd' },
    ]);
  });

  it('when an object appears where there was none, then it is one change holding the whole object', () => {
    expect(diffJson({}, { prompt: { positive: 'x' } })).toEqual([{ path: '/prompt', before: null, after: { positive: 'x' } }]);
  });

  it('when a value changes type, then it is one change with both values', () => {
    expect(diffJson({ age: 17 }, { age: 'seventeen' })).toEqual([{ path: '/age', before: 17, after: 'seventeen' }]);
    expect(diffJson({ x: [1] }, { x: { 0: 1 } })).toEqual([{ path: '/x', before: [1], after: { 0: 1 } }]);
  });

  it('when a key holds "/" or "~", then it is escaped as RFC 6901 says', () => {
    expect(diffJson({ 'a/b~c': 1 }, { 'a/b~c': 2 })).toEqual([{ path: '/a~1b~0c', before: 1, after: 2 }]);
  });
});

describe('diffVersions', () => {
  it('when definition and attributes both change, then attributes come under /attributes/<key>', () => {
    const from = { definition: { displayName: 'Kai', appearance: { hair: 'black' } }, attributes: { height_cm: 170, hair_color: 'black' } };
    const to = { definition: { displayName: 'Kai', appearance: { hair: 'blue' } }, attributes: { height_cm: 172, is_lead: true, hair_color: 'black' } };
    expect(diffVersions(from, to)).toEqual([
      { path: '/appearance/hair', before: 'black', after: 'blue' },
      { path: '/attributes/height_cm', before: 170, after: 172 },
      { path: '/attributes/is_lead', before: null, after: true },
    ]);
  });
});
