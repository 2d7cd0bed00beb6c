import { redactUrlCredentialsInText } from './redact-url-credentials';

/**
 * Only the WHATWG parser's special schemes (http, https, ws, wss, ftp, file) read a backslash as a
 * path separator. Elsewhere (postgresql://, redis://) it is a character of the user information:
 * node-postgres takes `postgresql://app:se\cret@db/anime` as user `app`, password `se\cret`. Such a
 * password in a plain-text message (an error stored as a generation's error, a BullMQ failedReason)
 * must be hidden as any other; the pattern before the one-pass masker hid it.
 */
describe('redactUrlCredentialsInText, a password holding a backslash', () => {
  it('when a postgresql:// or redis:// URL in plain text has a raw backslash in its password, then none of the password is shown', () => {
    for (const [text, shown] of [
      ['connect postgresql://app:se\\cret@db:5432/anime failed', 'connect postgresql://***@db:5432/anime failed'],
      ['redis error at redis://default:p\\w@cache:6379/0', 'redis error at redis://***@cache:6379/0'],
      ['rediss://u:a\\b\\c@h', 'rediss://***@h'],
      ['postgresql://app:tail\\@db/x', 'postgresql://***@db/x'],
    ]) {
      expect(redactUrlCredentialsInText(text)).toBe(shown);
    }
  });

  it('when such a URL is in a JSON log line, then its password is hidden and the line still parses', () => {
    const line = JSON.stringify({ message: 'at postgresql://app:se\\cret@db/anime', list: ['redis://u:p\\@h', 'x'] });
    const shown = redactUrlCredentialsInText(line);
    expect(shown).not.toContain('se\\\\cret');
    expect(JSON.parse(shown)).toEqual({ message: 'at postgresql://***@db/anime', list: ['redis://***@h', 'x'] });
  });

  it('when a backslash follows the host of an http(s) URL (a path separator there), then it still ends the host', () => {
    expect(redactUrlCredentialsInText('http://u:p@gpu-1:8188\\a@b')).toBe('http://***@gpu-1:8188\\a@b');
    expect(redactUrlCredentialsInText('see HTTPS://u:p@h\\x@y')).toBe('see HTTPS://***@h\\x@y');
  });
});
