import { contentTypeCharset } from '../src/http/content-type-charset';

/** Each case is what Python 3.11's email HeaderParser gives aiohttp 3.8.4's HeadersMixin for that header. */
describe('request.charset (email.message get_params, as Python 3.11 gives it)', () => {
  it.each([
    [undefined, undefined],
    ['application/json', undefined],
    ['application/json; charset=utf-8', 'utf-8'],
    ['application/json;charset=latin-1', 'latin-1'],
    ['application/json; charset="latin-1"', 'latin-1'],
    ["application/json; charset='latin-1'", "'latin-1'"],
    ['application/json; charset = utf-8 ', 'utf-8'],
    ['application/json; Charset=LATIN-1', 'LATIN-1'],
    ['application/json; charset=utf-8 ; x=1', 'utf-8'],
    ['application/json; charset=utf-8; charset=latin-1', 'latin-1'],
    ['application/json; charset', ''],
    ['application/json; charset=', ''],
    ['application/json; x="a;charset=latin-1"; y=1', undefined],
    ['application/json; charset="a\\"b"', 'a"b'],
    ['charset=latin-1', undefined],
    ['; charset=latin-1', 'latin-1'],
    ['application/json; charset="utf-8', '"utf-8'],
    ['application/json;; charset=latin1', 'latin1'],
    ['application/json, charset=latin1', undefined],
  ])('when the Content-Type is %p, then the charset is %p', (header, charset) => {
    expect(contentTypeCharset(header)).toBe(charset);
  });
});
