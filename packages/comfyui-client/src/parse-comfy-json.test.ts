import { parseComfyJson } from './parse-comfy-json';

describe('parseComfyJson', () => {
  it('when the text is JSON, then it is parsed as JSON.parse parses it', () => {
    expect(parseComfyJson('{"a": [1, 2.5, "NaN", null], "b": {"c": true}}')).toEqual({ a: [1, 2.5, 'NaN', null], b: { c: true } });
    expect(parseComfyJson('[]')).toEqual([]);
  });

  it('when json.dumps wrote NaN, Infinity or -Infinity, then each reads as null and strings keep their text', () => {
    const text = '{"9": {"inputs": {"image": "NaN Infinity -Infinity.png"}, "is_changed": NaN}, "x": [Infinity, -Infinity, 1], "q": "say \\"NaN\\" \\\\", "n": -1}';
    expect(parseComfyJson(text)).toEqual({
      '9': { inputs: { image: 'NaN Infinity -Infinity.png' }, is_changed: null },
      x: [null, null, 1],
      q: 'say "NaN" \\',
      n: -1,
    });
  });

  it('when the text is not JSON even with those tokens read as null, then it comes back unchanged', () => {
    for (const text of ['', 'Internal Server Error', '{"a": NaN', 'NaNa', '<html>NaN</html>']) expect(parseComfyJson(text)).toBe(text);
  });
});
