import { jsonDeeperThan } from './json-depth';

describe('jsonDeeperThan', () => {
  const nested = (levels: number) => {
    let value: unknown = 'leaf';
    for (let i = 0; i < levels; i += 1) value = i % 2 ? [value] : { k: value };
    return value;
  };

  it('when a value nests exactly to the limit, then it passes; one level more does not', () => {
    expect(jsonDeeperThan(nested(64), 64)).toBe(false);
    expect(jsonDeeperThan(nested(65), 64)).toBe(true);
    expect(jsonDeeperThan('text', 0)).toBe(false);
  });

  it('when a value nests a million levels, then the answer comes without overflowing the stack', () => {
    expect(jsonDeeperThan(nested(1_000_000))).toBe(true);
  });
});
