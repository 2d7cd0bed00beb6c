import { jsonNumbersAreFinite } from './finite-json';

describe('jsonNumbersAreFinite', () => {
  it('when every number is finite, wherever it sits, then it passes', () => {
    expect(jsonNumbersAreFinite({ a: [1, -2.5, { b: Number.MAX_VALUE }], c: 'x', d: null, e: true })).toBe(true);
    expect(jsonNumbersAreFinite('text')).toBe(true);
  });

  it('when JSON.parse read a literal too large for a double, anywhere inside, then it fails', () => {
    expect(jsonNumbersAreFinite(JSON.parse('{"a":{"b":[1,1e999]}}'))).toBe(false);
    expect(jsonNumbersAreFinite(JSON.parse('-1e999'))).toBe(false);
    expect(jsonNumbersAreFinite({ n: Number.NaN })).toBe(false);
  });
});
