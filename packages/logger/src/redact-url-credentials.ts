/**
 * A URL's user name and password, wherever one sits in a text: `redis://app:pw@host:6379/0` becomes
 * `redis://***@host:6379/0`. REDIS_URL, DATABASE_URL and COMFYUI_URLS may carry a password, and the
 * messages that name a URL (a driver's error, `ComfyUI at <url> unreachable`) are logged and stored.
 * The userinfo runs to the last `@` before the host ends (a password may hold an unencoded `@`); a
 * quote ends it too, so within JSON it never reaches past one string.
 *
 * The scheme is matched from the start of its run of scheme characters only (the look-behind): tried
 * from every word boundary inside a long run like `a-a-a-…` with no `://` after it, each try read the
 * rest of the run, quadratic in the run (80 KB of it held a log line for 2 s). The scheme proper (a
 * letter at a word boundary, as `\b[a-z]` had it) is then looked for inside the run.
 */
const USERINFO = /(?<![a-z0-9+.-])([a-z0-9+.-]*):\/\/[^\s/?#@"'<>]*(?:@[^\s/?#@"'<>]*)*@/gi;
const WORD = /\w/;
const LETTER = /[a-z]/i;

export function redactUrlCredentialsInText(text: string): string {
  return text.includes('://') ? text.replace(USERINFO, (match: string, run: string, offset: number) => (hasScheme(run, text[offset - 1]) ? `${run}://***@` : match)) : text;
}

/** Whether a scheme (a letter at a word boundary, then scheme characters) ends `run`; `before` is the character ahead of it. */
function hasScheme(run: string, before: string | undefined): boolean {
  for (let i = 0; i < run.length; i++) {
    const previous = i === 0 ? before : run[i - 1];
    if (LETTER.test(run[i]!) && (previous === undefined || !WORD.test(previous))) return true;
  }
  return false;
}
