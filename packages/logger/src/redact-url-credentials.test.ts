import { redactUrlCredentialsInText } from './redact-url-credentials';

// The pattern as it was before it was made linear: what it redacted is what is redacted now.
const BEFORE = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*(?:@[^\s/?#@"'<>]*)*@/gi;
const before = (text: string) => (text.includes('://') ? text.replace(BEFORE, '$1***@') : text);

describe('redactUrlCredentialsInText', () => {
  it('when a line holds a long run of scheme characters (a-a-a-…) and a URL elsewhere, then it is redacted in linear time', () => {
    const line = `{"message":"prompt ${'a-'.repeat(50_000)}","backend":"http://ops:Pw@gpu-1:8188"}`;
    const started = performance.now();
    const redacted = redactUrlCredentialsInText(line);
    const ms = performance.now() - started;
    expect(redacted).toContain('"backend":"http://***@gpu-1:8188"');
    expect(redacted).not.toContain('Pw@');
    // Measured: some 2 ms now; 3 s and more when every boundary of the run was a start.
    expect(ms).toBeLessThan(300);
  });

  it('when texts hold URLs in any setting (prefixed schemes, runs, quotes, @ after the host), then each is redacted as before', () => {
    const fixed = [
      'redis error at rediss://anime:R3d1sPw@cache:6380/6',
      '-redis://u:p@h', 'x.http://u:p@h', '_http://u:p@h', '1http://u:p@h', '+-.http://u:p@h', '-1a://u:p@h', '9://u:p@h', '://u:p@h',
      'jdbc:postgresql://u:p@h/db', 'postgresql://u:p@[::1]:5432/db', 'see https://h/p@x and', '"url":"http://h:8188","by":"x@y"',
      'http://u:p@h http://u2:p2@h2', 'http://a@b@c/d', 'é-http://u:p@h', 'a-a-a-http://u:p@h', 'a_b-http://u:p@h',
    ];
    for (const text of fixed) expect(redactUrlCredentialsInText(text)).toBe(before(text));
    // And texts drawn from the characters that matter, many times.
    const alphabet = ['a', 'B', '1', '_', '-', '.', '+', ':', '/', '//', '://', '@', ' ', '"', "'", '?', '#', 'é', '\\n'];
    let seed = 7;
    const next = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed);
    for (let i = 0; i < 20_000; i++) {
      const text = Array.from({ length: 1 + (next() % 24) }, () => alphabet[next() % alphabet.length]).join('');
      expect(redactUrlCredentialsInText(text)).toBe(before(text));
    }
  });
});
