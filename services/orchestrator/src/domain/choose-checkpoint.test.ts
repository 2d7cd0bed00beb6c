import { chooseCheckpoint } from './choose-checkpoint';

describe('chooseCheckpoint', () => {
  it('when the backend has the wanted checkpoint, then it is used', () => {
    expect(chooseCheckpoint(['a', 'b'], 'b', 'c')).toBe('b');
  });
  it('when the backend lacks it, then DEFAULT_CHECKPOINT wins', () => {
    expect(chooseCheckpoint(['a'], 'x', 'c')).toBe('c');
  });
  it('when nothing is configured, then the first listed checkpoint is used', () => {
    expect(chooseCheckpoint(['a', 'b'], 'x', undefined)).toBe('a');
  });
});
