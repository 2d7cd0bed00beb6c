/** The backend did not answer, or answered with a server error: transient, worth a retry. */
export class ComfyUnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    message: string,
    readonly status?: number,
  ) {
    super(`ComfyUI at ${baseUrl}: ${message}`);
    this.name = 'ComfyUnreachableError';
  }
}
