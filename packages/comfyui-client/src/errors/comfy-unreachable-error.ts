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

  /**
   * Connected (or still trying to), but nothing answered within the request's timeout: a server busy
   * or hung, unlike one that refused, reset or answered a 5xx.
   */
  get timedOut(): boolean {
    return (this.cause as { code?: unknown } | undefined)?.code === 'ECONNABORTED';
  }
}
