import { cut, serverText, shown } from './server-text';

describe('serverText', () => {
  it('when given text, numbers, booleans or nothing, then it writes them as String does', () => {
    expect(serverText('KSampler')).toBe('KSampler');
    expect(serverText('')).toBe('');
    expect(serverText(7)).toBe('7');
    expect(serverText(-0.5)).toBe('-0.5');
    expect(serverText(true)).toBe('true');
    expect(serverText(null)).toBe('null');
    expect(serverText(undefined)).toBe('undefined');
  });

  it('when given an object whose own toString or valueOf is not a function (String would throw a TypeError), then it writes its JSON', () => {
    const hostile = JSON.parse('{"toString": 1, "valueOf": {"toString": 2}}');
    expect(() => String(hostile)).toThrow(TypeError);
    expect(serverText(hostile)).toBe('{"toString":1,"valueOf":{"toString":2}}');
    expect(serverText(JSON.parse('[{"toString": 1}]'))).toBe('[{"toString":1}]');
  });

  it('when given what JSON cannot write (arrays nested past the call stack, a toJSON that throws, a symbol), then it says so instead of throwing', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(() => String(deep)).toThrow(RangeError);
    expect(serverText(deep)).toBe('(a value that cannot be shown)');
    expect(serverText({ toJSON: () => { throw new Error('no'); } })).toBe('(a value that cannot be shown)');
    expect(serverText(Symbol('x'))).toBe('(a value that cannot be shown)');
  });

  it('when the text is longer than the bound (200 characters unless told), then it is cut with …, never inside a surrogate pair', () => {
    expect(serverText('a'.repeat(1_000))).toBe(`${'a'.repeat(200)}…`);
    expect(serverText({ text: 'a'.repeat(1_000) }, 20)).toBe('{"text":"aaaaaaaaaaa…');
    expect(cut(`${'a'.repeat(199)}😀tail`)).toBe(`${'a'.repeat(199)}…`);
    expect(cut('a'.repeat(200))).toBe('a'.repeat(200));
    expect(shown('a"b')).toBe('"a\\"b"');
  });
});
