import { libraryPath } from './library-path';

const base = { project: 'default', episode: 'ep01', scene: 'sc010', shot: null, characterSlug: 'kai-nakamura', version: 3, jobId: 'abc', index: 0, extension: 'png' };

describe('libraryPath', () => {
  it('when there is no shot, then the file sits in the character folder of the scene', () => {
    expect(libraryPath(base)).toBe('default/ep01/sc010/kai-nakamura/kai-nakamura_v3_abc_01.png');
  });
  it('when there is a shot, then it adds a folder', () => {
    expect(libraryPath({ ...base, shot: 'sh020', index: 1 })).toBe('default/ep01/sc010/kai-nakamura/sh020/kai-nakamura_v3_abc_02.png');
  });
  it.each(['..', '.hidden', 'a/b', ''])('when a segment is %j, then it is refused', (bad) => {
    expect(() => libraryPath({ ...base, scene: bad })).toThrow(/unsafe/);
  });
});
