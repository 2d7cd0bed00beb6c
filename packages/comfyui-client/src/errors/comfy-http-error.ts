import { cut } from '../server-text';

/**
 * An unexpected answer from ComfyUI, other than a prompt validation failure: a 4xx, or a 200 whose
 * body breaks the protocol (not JSON where JSON is due, larger than any real answer is).
 */
export class ComfyHttpError extends Error {
  readonly name = 'ComfyHttpError';
  /** The answer, for diagnosis: at most BODY_KEPT characters of it (it ends up in the job's error details). */
  readonly body: unknown;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    body: unknown,
    /** What was wrong with the answer, when not its status. */
    message?: string,
    /** The answer was larger than any real one is, and was not read (ComfyHttp's bound). */
    readonly tooLarge = false,
  ) {
    super(message ?? `ComfyUI answered ${status} to ${method} ${path}`);
    this.body = boundedBody(body);
  }
}

/** An answer larger than any real one is (ComfyHttp did not read it): a busy server's /queue can be one. */
export const isAnswerTooLarge = (error: unknown): error is ComfyHttpError => error instanceof ComfyHttpError && error.tooLarge;

const BODY_KEPT = 2_000;

/** A body as kept: small ones as they came, a long text, bytes or JSON value as its first BODY_KEPT characters. */
function boundedBody(body: unknown): unknown {
  if (body === undefined || body === null) return body;
  if (typeof body === 'string') return cut(body, BODY_KEPT);
  if (Buffer.isBuffer(body) || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body as ArrayBuffer);
    return bytes.length > BODY_KEPT ? Buffer.from(bytes.subarray(0, BODY_KEPT)) : body;
  }
  if (typeof body !== 'object') return body;
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch {
    return undefined;
  }
  return text !== undefined && text.length > BODY_KEPT ? cut(text, BODY_KEPT) : body;
}
