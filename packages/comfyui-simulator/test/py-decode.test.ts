import { pyDecode } from '../src/python/py-decode';

/** Each case is what Python 3.11 gives for bytes(...).decode(encoding). */
describe("bytes.decode(encoding), strict, as Python 3.11's codecs do it", () => {
  it.each([
    ['UTF-8', [0x63, 0xc3, 0xa9], 'c\u00e9'],
    ['U8', [0xef, 0xbb, 0xbf, 0x41], '\ufeffA'],
    ['utf-8-sig', [0xef, 0xbb, 0xbf, 0x41], 'A'],
    ['  utf 8  ', [0x41], 'A'],
    ['ISO_8859-1:1987', [0xe9, 0x80], '\u00e9\u0080'],
    ['iso8859.1', [0xe9], '\u00e9'],
    ['windows-1252', [0x80, 0x9f], '\u20ac\u0178'],
    ['utf-16', [0x41, 0x00], 'A'],
    ['utf-16', [0xfe, 0xff, 0x00, 0x41], 'A'],
    ['utf-16-le', [0xff, 0xfe, 0x41, 0x00], '\ufeffA'],
    ['UTF_16-LE', [0x41, 0x00], 'A'],
    ['utf-32', [0xff, 0xfe, 0x00, 0x00, 0x41, 0x00, 0x00, 0x00], 'A'],
    ['utf-32', [0x41, 0x00, 0x00, 0x00], 'A'],
    ['us-ascii', [0x41], 'A'],
  ])('when %s decodes %j, then it gives %p', (encoding, bytes, text) => {
    expect(pyDecode(Buffer.from(bytes), encoding)).toBe(text);
  });

  it.each([
    ['UTF8-SIG', [0x41], 'LookupError'],
    ['utf..8', [0x41], 'LookupError'],
    ['hex', [0x41], 'LookupError'],
    ['constructor', [0x41], 'LookupError'],
    ['utf-8', [0xe9], 'UnicodeDecodeError'],
    ['ascii', [0xe9], 'UnicodeDecodeError'],
    ['cp1252', [0x81], 'UnicodeDecodeError'],
    ['utf-16', [0x41], 'UnicodeDecodeError'],
    ['utf-16-le', [0x00, 0xd8], 'UnicodeDecodeError'],
    ['utf_32', [0x7b, 0x7d], 'UnicodeDecodeError'],
  ])('when %s decodes %j, then it raises %s', (encoding, bytes, pyType) => {
    expect(() => pyDecode(Buffer.from(bytes), encoding)).toThrow(expect.objectContaining({ pyType }));
  });
});
