/**
 * Whether `url` parses with a user name or a password (WHATWG parsing: `http:///u:p@h` has them too).
 * Where such a URL is refused (a webhook's), since the places it would be shown are read by others.
 */
export function hasUrlCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}
