import { redactUrlCredentialsInText } from './redact-url-credentials';

/**
 * RFC 3986 lets a URL's user information hold `'`, `,` and `:` as they are (sub-delims; any `:`
 * after the first is the password's), and encodeURIComponent leaves `'` unencoded: `p',w` and
 * `p':w` are passwords a REDIS_URL or DATABASE_URL may hold without any encoding. A single quote
 * never closes anything in a JSON line (JSON quotes with `"`), so it cannot end the authority there.
 */
describe('redactUrlCredentialsInText, a password holding a single quote before , : ] or }', () => {
  const passwords = ["p',w", "p':w", "ab']cd", "ab'}cd", "x'''::y"];

  it('when such a URL is in a JSON log line, then its password is hidden and the line still parses', () => {
    for (const password of passwords) {
      const line = JSON.stringify({ level: 'error', message: `redis error at redis://default:${password}@cache:6379/0`, service: 'gateway' });
      const shown = redactUrlCredentialsInText(line);
      // Before: the quote ended the user information, no `@` followed, and the whole password was shown.
      expect(shown).not.toContain(password);
      expect(JSON.parse(shown)).toEqual({ level: 'error', message: 'redis error at redis://***@cache:6379/0', service: 'gateway' });
    }
  });

  it('when such a URL is in plain text, then its password is hidden', () => {
    for (const password of passwords) {
      expect(redactUrlCredentialsInText(`connect postgresql://anime:${password}@db:5432/anime failed`)).toBe('connect postgresql://***@db:5432/anime failed');
    }
  });

  it('when a JSON line holds a URL without credentials before an e-mail address, then both are kept as they were', () => {
    const line = JSON.stringify({ url: "http://gpu-1:8188/it's", by: 'ops@example.com', list: ['http://h:1', "o'neil@example.com"] });
    expect(redactUrlCredentialsInText(line)).toBe(line);
  });
});
