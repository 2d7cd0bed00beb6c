/** ComfyUI could not be reached or answered with a 5xx: worth retrying, possibly on another server. */
export class ComfyUnreachableError extends Error {
  readonly name = 'ComfyUnreachableError';

  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
