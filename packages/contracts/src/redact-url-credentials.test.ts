import { redactUrlCredentialsInText } from './redact-url-credentials';

// The pattern as it was before it was made linear: on texts without quotes, backslashes or angle
// brackets in a URL's user information, what it redacted is what is redacted now.
const BEFORE = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*(?:@[^\s/?#@"'<>]*)*@/gi;
const before = (text: string) => (text.includes('://') ? text.replace(BEFORE, '$1***@') : text);

/**
 * The rule, restated as a plain pattern (fine on short texts, not linear): after `://` the authority
 * runs to whitespace, `/`, `?`, `#`, a backslash that starts no JSON escape after a special scheme
 * (http, https, ws, wss, ftp, file; after another a backslash is part of it), or a `"` that closes a
 * JSON key, value or list item (`",` `"}` `"]` `":`); what stands before its last `@` is `***`.
 */
const AUTHORITY = /(?:[^\s/?#\\"]|\\[\\bfnrtu]|\\?"(?![,}\]:]))*/y;
const AUTHORITY_AFTER_OTHER_SCHEME = /(?:[^\s/?#\\"]|\\\\|\\(?!\\)|\\?"(?![,}\]:]))*/y;
const SPECIAL = /(?:^|[^a-z0-9+.-])(?:https?|wss?|ftp|file)$/i;
function byRule(text: string): string {
  let shown = '';
  let copied = 0;
  for (let at = text.indexOf('://'); at !== -1; at = text.indexOf('://', at + 1)) {
    const pattern = SPECIAL.test(text.slice(0, at)) ? AUTHORITY : AUTHORITY_AFTER_OTHER_SCHEME;
    pattern.lastIndex = at + 3;
    const authority = pattern.exec(text)![0];
    if (!authority.includes('@')) continue;
    shown += `${text.slice(copied, at + 3)}***`;
    copied = at + 3 + authority.lastIndexOf('@');
  }
  return shown + text.slice(copied);
}

/** A 1 MB line (or so) of `unit` repeated, with a URL holding a password at its end. */
const adversarial = (unit: string) => `${unit.repeat(Math.ceil(1_000_000 / unit.length))} http://ops:Adv3rsary@gpu-1:8188`;

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

  it('when a 1 MB line is built to make a pattern backtrack (runs of @, ://, quotes, escapes), then each is redacted in well under a second', () => {
    const units = ['a-', '@', 'a@', 'http://', '://', 'a://', 'x://a@', '\\"', '"@', "'@", 'http://u:p"', '\\\\', '@a://b', 'a://@', 'http://a@b@', '%40', ':'];
    const slowest = { unit: '', ms: 0 };
    for (const unit of units) {
      const line = adversarial(unit);
      const started = performance.now();
      const redacted = redactUrlCredentialsInText(line);
      const ms = performance.now() - started;
      if (ms > slowest.ms) Object.assign(slowest, { unit, ms });
      expect(redacted).not.toContain('Adv3rsary');
    }
    // Measured: 5-20 ms a line. Quadratic work on 1 MB would take minutes.
    expect(slowest.ms).toBeLessThan(2_000);
  });

  it('when texts hold URLs in any setting (prefixed schemes, runs, quotes, @ after the host), then each is redacted as before', () => {
    const fixed = [
      'redis error at rediss://anime:R3d1sPw@cache:6380/6',
      '-redis://u:p@h', 'x.http://u:p@h', '+-.http://u:p@h',
      'jdbc:postgresql://u:p@h/db', 'postgresql://u:p@[::1]:5432/db', 'see https://h/p@x and', '"url":"http://h:8188","by":"x@y"',
      'http://u:p@h http://u2:p2@h2', 'http://a@b@c/d', 'é-http://u:p@h', 'a-a-a-http://u:p@h', 'a_b-http://u:p@h',
      '{"backend":"http://gpu-1:8188","contact":"ops@example.com"}', '{"a":["http://h","x@y"]}', '{"http://h":"x@y"}',
    ];
    for (const text of fixed) expect(redactUrlCredentialsInText(text)).toBe(before(text));
  });

  it('when a password holds a quote, an angle bracket or a bracket, raw or escaped in a JSON line, then none of it is shown', () => {
    // Before: a quote or an angle bracket ended the user information, so no `@` followed and the whole password was shown.
    const cases: [string, string][] = [
      ['http://u:p"a]ss@host', 'http://***@host'],
      ['http://u:pa(ss@host', 'http://***@host'],
      ["http://u:p'a@h", 'http://***@h'],
      ['http://u:p<a>b@h:8188/x', 'http://***@h:8188/x'],
      ['http://u:p%22a%5D@h', 'http://***@h'],
      ['backend http://u:p")a@gpu-1:8188 down', 'backend http://***@gpu-1:8188 down'],
      [JSON.stringify({ message: 'at http://u:p"a]ss@host' }), '{"message":"at http://***@host"}'],
      [JSON.stringify({ backend: "http://u:p'a\\b@h" }), '{"backend":"http://***@h"}'],
      // A JSON line quoting a JSON text (the quotes escaped twice).
      [JSON.stringify({ body: JSON.stringify({ url: 'http://u:p"a@h' }) }), '{"body":"{\\"url\\":\\"http://***@h\\"}"}'],
    ];
    for (const [text, shown] of cases) expect(redactUrlCredentialsInText(text)).toBe(shown);
  });

  it('when a URL has no scheme letter before :// (`9://`, `_http://`, `://`), then its user information is hidden all the same', () => {
    // Before: no letter at a word boundary, no redaction, and the password was shown.
    for (const [text, shown] of [['1http://u:p@h', '1http://***@h'], ['_http://u:p@h', '_http://***@h'], ['9://u:p@h', '9://***@h'], ['-1a://u:p@h', '-1a://***@h'], ['://u:p@h', '://***@h']]) {
      expect(redactUrlCredentialsInText(text)).toBe(shown);
    }
  });

  it("when a backslash follows the host (a path separator to the WHATWG parser), then it ends the host as '/' does", () => {
    // Before: 'http://***@b', the host gone.
    expect(redactUrlCredentialsInText('http://u:p@gpu-1:8188\\a@b')).toBe('http://***@gpu-1:8188\\a@b');
  });

  it('when texts are drawn from the characters that matter, many times, then each is redacted by the rule and no password is left', () => {
    const alphabet = ['a', 'B', '1', '_', '-', '.', '+', ':', '/', '//', '://', '@', ' ', '"', "'", '?', '#', 'é', '\\n', '\\', '\\"', ',', '}', ']', '<', '>', '%', '\u00a0'];
    let seed = 7;
    const next = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed);
    const piece = (length: number) => Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
    for (let i = 0; i < 20_000; i++) {
      const text = piece(1 + (next() % 24));
      expect(redactUrlCredentialsInText(text)).toBe(byRule(text));
    }
    // A password of those characters (none of whitespace, / ? # nor a closing `",`), raw or in a JSON line,
    // which still parses.
    const passwordAlphabet = alphabet.filter((c) => !/[\s/?#]/.test(c) && c !== '\\' && c !== '\\n' && c !== '\\"');
    for (let i = 0; i < 5_000; i++) {
      let password = `Q${Array.from({ length: 1 + (next() % 8) }, () => passwordAlphabet[next() % passwordAlphabet.length]).join('')}Z`;
      password = password.replace(/["'][,}\]:]/g, '"x');
      const url = `http://user:${password}@gpu-1:8188/p`;
      const json = JSON.stringify({ m: url, [piece(next() % 6)]: piece(next() % 6), [url]: [url, piece(next() % 6)] });
      for (const text of [`${piece(next() % 6)} ${url} ${piece(next() % 6)}`, json, JSON.stringify({ json })]) {
        const shown = redactUrlCredentialsInText(text);
        expect(shown).toContain('://***@gpu-1:8188/p');
        expect(shown).not.toContain(password);
      }
      expect(JSON.parse(redactUrlCredentialsInText(json))).toEqual(JSON.parse(json.replaceAll(`user:${JSON.stringify(password).slice(1, -1)}@`, '***@')));
    }
  });
});
