/**
 * The query string of a list route (jobs, characters), built from a command's options: each option
 * given becomes the route's parameter of the same name, as text; one not given is left out, so the
 * route's own default applies.
 */
export function listQuery(options: Record<string, unknown>): string {
  return new URLSearchParams(Object.entries(options).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();
}
