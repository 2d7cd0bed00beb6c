import { redactUrlCredentialsInText } from './redact-url-credentials';

/**
 * One URL as messages and terminals show it (`pnpm start`'s lines, a ComfyUI backend's errors): as
 * redactUrlCredentialsInText shows it in a text, so exactly as the log lines do, user name and
 * password as `***`. A value that does not parse, or that the parser reads with credentials the text
 * does not show as `***` (`http:/user:pw@host`, `http:user:pw@host`, read leniently), or with another
 * host than the value's, is not shown: `fallback` stands for it (the name of its setting, say).
 */
export function shownUrl(value: string, fallback: string): string {
  const shown = redactUrlCredentialsInText(value);
  try {
    const url = new URL(value);
    const again = new URL(shown);
    const hidden = again.password === '' && (again.username === '' || again.username === '***');
    return hidden && again.host === url.host ? shown : fallback;
  } catch {
    return fallback;
  }
}
