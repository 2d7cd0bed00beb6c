/** An unexpected 4xx from ComfyUI, other than a prompt validation failure. */
export class ComfyHttpError extends Error {
  readonly name = 'ComfyHttpError';

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`ComfyUI answered ${status} to ${method} ${path}`);
  }
}
