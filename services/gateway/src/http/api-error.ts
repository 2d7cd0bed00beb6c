/** A refusal with a stable snake_case code, rendered as `{ error: { code, message, details? } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string, details?: unknown) => new ApiError(404, 'not_found', `${what} not found`, details);
