import { redactUrlCredentialsInText } from './redact-url-credentials';
import { shownUrl } from './shown-url';

// The user information of one URL (`pnpm start`'s lines, ComfyUI's error messages) was hidden by two
// more functions, each its own way: the client's rebuilt the URL (`http://***@h:8188/` lost its '/',
// a query and a fragment were dropped, the host lower-cased), `pnpm start`'s kept the text, and the
// log lines' pattern could differ from both. One URL is now shown as every log line shows it.
const URLS = [
  'http://opsuser:s3cret@gpu-1:8188',
  'http://opsuser:s3cret@gpu-1:8188/',
  'http://opsuser:s3cret@GPU-1:80/comfy/?a=1#f',
  'postgresql://anime:p%40ss@db:5432/anime',
  'http://opsuser:s3cret@gpu-1:8188/a@b',
  'http://opsuser:s3cret@gpu-1:8188\\a@b',
  'http://u:p"a]ss@host',
  'http://u:pa(ss@host',
  "http://u:p'a@h",
  'http://u:p%22a@h',
  'http://u:p<a>@h',
  'http://user@h:8188',
  'http://:pw@h:8188',
  'http://gpu-2:8188',
  'postgresql://db:5432/anime',
];

describe('shownUrl: one URL, without its user name and password', () => {
  it('when a URL parses, then it is shown exactly as a log line shows it', () => {
    for (const url of URLS) expect([url, shownUrl(url, '(URL)')]).toEqual([url, redactUrlCredentialsInText(url)]);
  });

  it('when a URL has credentials, then the user information is *** and the rest is kept as written', () => {
    expect(shownUrl('http://opsuser:s3cret@gpu-1:8188/', '(URL)')).toBe('http://***@gpu-1:8188/');
    expect(shownUrl('http://opsuser:s3cret@GPU-1:80/comfy/?a=1#f', '(URL)')).toBe('http://***@GPU-1:80/comfy/?a=1#f');
    expect(shownUrl('http://u:p"a]ss@host', '(URL)')).toBe('http://***@host');
    expect(shownUrl("http://u:p'a@h", '(URL)')).toBe('http://***@h');
  });

  it('when the text hides no credentials the parser finds (one slash, none, a space, a bad port), then the fallback is shown', () => {
    for (const value of ['http:/opsuser:s3cret@gpu-1:8188', 'http:opsuser:s3cret@gpu-1:8188', 'http:\\\\opsuser:s3cret@gpu-1:8188', 'http://u:p@h:99999', 'not a url', 'http://u:p/w@h']) {
      expect(shownUrl(value, '(URL)')).toBe('(URL)');
    }
  });
});
