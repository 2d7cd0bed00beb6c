/** What an API key may do. `admin` implies every other scope. */
export const API_SCOPES = ['read', 'generate', 'generate:interactive', 'characters:write', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export function grants(scopes: readonly string[], wanted: ApiScope): boolean {
  return scopes.includes('admin') || scopes.includes(wanted);
}
