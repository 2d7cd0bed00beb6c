/**
 * A URL's user name and password, wherever one sits in a text: `redis://app:pw@host:6379/0` becomes
 * `redis://***@host:6379/0`. REDIS_URL, DATABASE_URL and COMFYUI_URLS may carry a password, and the
 * messages that name a URL (a driver's error, `ComfyUI at <url> unreachable`) are logged and stored.
 * The one masker of URL credentials: log lines, stored messages, `pnpm start`'s output, ComfyUI's errors.
 *
 * After each `://` the authority runs to whitespace, `/`, `?` or `#` (as the WHATWG parser ends it), to
 * a backslash that starts no JSON escape after a special scheme (http, https, ws, wss, ftp, file: a
 * path separator there; after any other, `postgresql://` or `redis://`, node-postgres reads it as
 * part of the password), or to a quote that closes
 * a JSON key, value or list item (`",` `"}` `"]` `":`, escaped or not: a URL without credentials
 * before an e-mail address in the next JSON value is kept, and a redacted JSON text still parses).
 * A single quote closes nothing in JSON, and a password may hold one before `,` or `:` unencoded
 * (RFC 3986 sub-delims; encodeURIComponent leaves `'`): it never ends the authority.
 * What stands before its last `@` is the user information (a password may hold an unencoded `@`)
 * and becomes `***`. Any other quote, a bracket, an angle bracket or a JSON escape (`\"` in a log
 * line) is part of the password, so hidden with it: where the text is ambiguous, too much is hidden
 * rather than a password shown. Whatever stands before
 * `://` is kept, a scheme or not (`9://u:p@h` hides `u:p` too).
 *
 * One pass, linear in the text: an authority holds no `/`, so no two of them overlap, and the last
 * `@` is noted on the way. Lines without `://` (most log lines: this runs on every one) are returned
 * at once.
 */
export function redactUrlCredentialsInText(text: string): string {
  let separator = text.indexOf('://');
  if (separator === -1) return text;
  let shown = '';
  let copied = 0;
  while (separator !== -1) {
    const start = separator + 3;
    const lastAt = lastAtOfAuthority(text, start, SPECIAL_SCHEME.test(text.slice(Math.max(0, separator - 6), separator)));
    if (lastAt !== -1) {
      shown += `${text.slice(copied, start)}***`;
      copied = lastAt;
    }
    separator = text.indexOf('://', start);
  }
  return shown + text.slice(copied);
}

/**
 * The WHATWG parser's special schemes, ending the text before a `://` (at most 6 characters of it:
 * one before the longest, so `xhttp` is not taken for `http`).
 */
const SPECIAL_SCHEME = /(?:^|[^a-z0-9+.-])(?:https?|wss?|ftp|file)$/i;
/** JSON's escapes after a backslash (`\"`, `\\`, `\n`, `\u00e9`…): part of a password in a log line (`\/` is a '/', so an end). */
const JSON_ESCAPE = new Set(['"', '\\', 'b', 'f', 'n', 'r', 't', 'u']);
/** What follows a `"` that closes a JSON key, a JSON value or a list item: no `***` ever swallows one, so JSON stays JSON. */
const AFTER_CLOSING_QUOTE = new Set([',', '}', ']', ':']);
const SPACE = /\s/;

/**
 * The index of the last `@` in the authority that starts at `start`, or -1 when it has none.
 * `special`: its scheme is one where a backslash (not a JSON escape) is a path separator.
 */
function lastAtOfAuthority(text: string, start: number, special: boolean): number {
  let lastAt = -1;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === '@') lastAt = i;
    else if (c === '/' || c === '?' || c === '#') break;
    else if (c === '\\') {
      const next = text[i + 1];
      if (special && (next === undefined || !JSON_ESCAPE.has(next))) break;
      if (next === '\\') i++;
    } else if (c === '"') {
      if (AFTER_CLOSING_QUOTE.has(text[i + 1]!)) break;
    } else if ((c <= ' ' || c >= '\u0080') && SPACE.test(c)) break;
  }
  return lastAt;
}
