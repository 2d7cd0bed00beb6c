/** A refusal the CLIs print as is (exit 1) and a caller can show: never a stack trace. */
export class ApiKeyError extends Error {
  constructor(
    readonly code: 'unknown_scope' | 'name_taken' | 'not_found' | 'invalid_name' | 'invalid_expiry' | 'invalid_projects' | 'no_scopes',
    message: string,
  ) {
    super(message);
    this.name = 'ApiKeyError';
  }
}
