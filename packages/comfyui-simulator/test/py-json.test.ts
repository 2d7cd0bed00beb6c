import { pyJsonDumps } from '../src/python/py-json-dumps';
import { pyJsonLoads } from '../src/python/py-json-loads';

/** Expected texts are what CPython 3.11's json.dumps(json.loads(text)) prints for the same input. */
describe('json.loads then json.dumps, as Python does them', () => {
  it.each([
    [
      '{"b": [1, 2.50, 1e-5, 1E3, 18446744073709551615, -0, -0.0, 1e400, 123456789012345678, 0.1, 1e16, 12345.678e10]}',
      '{"b": [1, 2.5, 1e-05, 1000.0, 18446744073709551615, 0, -0.0, Infinity, 123456789012345678, 0.1, 1e+16, 123456780000000.0]}',
    ],
    ['{"10": {"x": 1}, "3": 2, "b": 3, "10": 4}', '{"10": 4, "3": 2, "b": 3}'],
    ['{"t":"\\u00e9\\ud83d\\ude00\\/","u":"é"}', '{"t": "\\u00e9\\ud83d\\ude00/", "u": "\\u00e9"}'],
    ['[NaN, Infinity, -Infinity, true, false, null]', '[NaN, Infinity, -Infinity, true, false, null]'],
    ['{"__proto__": {"p": 1.0}}', '{"__proto__": {"p": 1.0}}'],
  ])('when %s is read and written back, then the text is Python’s', (input, python) => {
    expect(pyJsonDumps(pyJsonLoads(input))).toBe(python);
  });

  it('when keys were sent out of JavaScript’s order, then keys added later still come last', () => {
    const prompt = pyJsonLoads('{"9": {"class_type": "SaveImage"}, "20": {"class_type": "LoadImage"}}') as Record<string, any>;
    prompt['20'].is_changed = ['ab'];
    prompt['5'] = {};
    expect(pyJsonDumps(prompt)).toBe('{"9": {"class_type": "SaveImage"}, "20": {"class_type": "LoadImage", "is_changed": ["ab"]}, "5": {}}');
  });

  it('when a marked number is replaced, then the new value prints by its own kind', () => {
    const node = pyJsonLoads('{"cfg": 7.0}') as Record<string, number>;
    node.cfg = 8;
    expect(pyJsonDumps(node)).toBe('{"cfg": 8}');
  });

  it.each(['{', '{"a":1,}', '[1 2]', '01', '"\t"', '{"a":1} x', '', "{'a': 1}"])('when %j is not JSON, then it throws', (text) => {
    expect(() => pyJsonLoads(text)).toThrow();
  });
});
