import { invocationDirectory } from './invocation-directory';

describe('invocationDirectory', () => {
  it('when run as the `anime` script (pnpm anime, typed in a subdirectory), then it is the directory pnpm names in INIT_CWD, not the root the script runs in', () => {
    expect(invocationDirectory({ npm_lifecycle_event: 'anime', INIT_CWD: '/repo/shots/ep01' }, '/repo')).toBe('/repo/shots/ep01');
  });

  it('when run otherwise (node …/anime.js, the bin, another script that happens to leave INIT_CWD), then it is the current directory', () => {
    expect(invocationDirectory({}, '/work/here')).toBe('/work/here');
    expect(invocationDirectory({ INIT_CWD: '/elsewhere' }, '/work/here')).toBe('/work/here');
    expect(invocationDirectory({ npm_lifecycle_event: 'build', INIT_CWD: '/elsewhere' }, '/work/here')).toBe('/work/here');
    expect(invocationDirectory({ npm_lifecycle_event: 'anime', INIT_CWD: '' }, '/work/here')).toBe('/work/here');
  });
});
