import { CliError } from './cli-error';
import type { Connection } from './connection';
import { awayStatus, connectionLost, GatewayAwayError, retryAfterMs } from './gateway-away';

/** How long one request may take, answer included: the gateway's slowest answers take about 20 s. */
const REQUEST_TIMEOUT_MS = 60_000;
/** The most an answer may hold (the gateway's largest, a page of 200 generations, is well under 1 MiB). */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** The part of an error answer read: its message is printed on one line. */
const MAX_ERROR_BYTES = 64 * 1024;

/** The gateway's REST API: JSON in, JSON out, every non-2xx a CliError carrying the gateway's own message. */
export class ApiClient {
  constructor(
    private readonly connection: Connection,
    /** How long one request may take, answer included. */
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  get baseUrl(): string {
    return this.connection.baseUrl;
  }

  get key(): string | null {
    return this.connection.key;
  }

  get<T = any>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** `headers`: request headers besides the ones every call sends (an Idempotency-Key). */
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.call<T>('POST', path, body, headers);
  }

  /**
   * A file route's answer (`GET /api/v1/assets/:id/file`), its body left to the caller to stream: never
   * read whole. Within the request timeout the answer must start; after that its body may take as long
   * as it keeps coming, and is given up on once no byte arrived for that long. A non-2xx is the
   * CliError `get` would throw.
   */
  async getStream(path: string): Promise<AsyncIterable<Uint8Array>> {
    const headers: Record<string, string> = this.connection.key ? { authorization: `Bearer ${this.connection.key}` } : {};
    const abort = new AbortController();
    let silent = setTimeout(() => abort.abort(), this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.connection.baseUrl}${path}`, { headers, signal: abort.signal });
    } catch (error) {
      clearTimeout(silent);
      throw this.unreachable(error, abort.signal, 'GET', path);
    }
    if (!response.ok) {
      const text = await readText(response, MAX_ERROR_BYTES, `GET ${path}`).catch(() => '');
      clearTimeout(silent);
      throw this.refusal(response, text);
    }
    const timeoutMs = this.timeoutMs;
    const reader = response.body!.getReader();
    const body = async function* () {
      try {
        for (;;) {
          const { done, value } = await reader.read().catch((error: unknown) => {
            if (abort.signal.aborted) throw new CliError(`the download of ${path} stalled: no data for ${timeoutMs / 1000} s`);
            // A connection cut mid-answer: fetch says only "terminated", its cause says how.
            const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
            throw new CliError(`the download of ${path} was cut off (${cause})`);
          });
          if (done) return;
          clearTimeout(silent);
          silent = setTimeout(() => abort.abort(), timeoutMs);
          yield value;
        }
      } finally {
        clearTimeout(silent);
        await reader.cancel().catch(() => undefined);
      }
    };
    return body();
  }

  private async call<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { ...extraHeaders, accept: 'application/json' };
    if (this.connection.key) headers.authorization = `Bearer ${this.connection.key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    // The gateway answers within its own bounds (a database gone silent: 503 after ~10-20 s); one that
    // does not answer at all (a frozen host, a proxy holding the request) is given up on, not waited
    // for until Node's 5-minute headers timeout.
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.connection.baseUrl}${path}`, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
      // An error's message is its first part; an answer is bounded as the gateway's own are (a page of
      // 200 generations is well under 1 MiB): something else at --url streaming without end is refused.
      text = await readText(response, response.ok ? MAX_ANSWER_BYTES : MAX_ERROR_BYTES, `${method} ${path}`);
    } catch (error) {
      throw this.unreachable(error, signal, method, path);
    }
    let parsed: any = null;
    let isJson = text !== '';
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      isJson = false;
      parsed = { error: { code: 'not_json', message: text.slice(0, 200) } };
    }
    if (response.ok && !isJson) {
      // Every route the CLI calls answers JSON: a page of HTML (a proxy, another server at --url) is no answer.
      const type = response.headers.get('content-type') ?? 'no content-type';
      throw new CliError(`${response.status} from ${this.connection.baseUrl} is not the gateway's JSON (${type}): ${text.slice(0, 200) || '(empty)'}; is --url the gateway?`);
    }
    if (!response.ok) throw this.refusal(response, text);
    return parsed as T;
  }

  /** Why a request got no answer, as the CliError the commands report. */
  private unreachable(error: unknown, signal: AbortSignal, method: string, path: string): CliError {
    if (error instanceof CliError) return error;
    if (signal.aborted) return new CliError(`the gateway at ${this.connection.baseUrl} did not answer ${method} ${path.split('?')[0]} within ${this.timeoutMs / 1000} s`);
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    const message = `cannot reach the gateway at ${this.connection.baseUrl} (${cause}); is it running? (pnpm start)`;
    // Refused or cut (a restart): the same error, marked so that a caller may ask again.
    return connectionLost(error) ? new GatewayAwayError(message, cause) : new CliError(message);
  }

  /** A non-2xx answer (its body's start, `text`) as a CliError carrying the gateway's own message. */
  private refusal(response: Response, text: string): CliError {
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: { code: 'not_json', message: text.slice(0, 200) } };
    }
    const error = parsed?.error ?? { code: `http_${response.status}`, message: response.statusText };
    // A refusal for now (429, 503) says when to ask again, as the gateway's Retry-After does.
    const retryAfter = response.headers.get('retry-after');
    const hint = response.status === 401 ? ` (key from ${this.connection.keySource})` : retryAfter && /^\d+$/.test(retryAfter) ? ` (retry after ${retryAfter} s)` : '';
    // The gateway's message usually names each bad field already, or is the one detail's message
    // itself (webhook_not_registered): a detail is added only when it does not.
    const message = String(error.message ?? '');
    const fields = Array.isArray(error.details)
      ? error.details
          .filter((d: { path?: string; message?: string }) => d.message !== message && !message.includes(`${d.path}: ${d.message}`))
          .map((d: { path?: string; message?: string }) => `; ${d.path}: ${d.message}`)
          .join('')
      : '';
    const said = `${response.status} ${error.code}: ${message}${fields}${hint}`;
    const body = parsed?.error ? parsed : { error };
    // 502, 503, 504 (a restart, the proxy in front of it): the same error, marked so that a caller may ask again.
    if (awayStatus(response.status)) return new GatewayAwayError(said, `${response.status} ${error.code}`, body, retryAfterMs(retryAfter));
    return new CliError(said, 1, body);
  }
}

/**
 * The body as text, read up to `max` bytes: an error answer is cut there (its start says why); any
 * other answer over it is refused, never read whole into memory.
 */
async function readText(response: Response, max: number, what: string): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    bytes += value.byteLength;
    if (bytes > max) {
      await reader.cancel().catch(() => undefined);
      if (response.ok) throw new CliError(`the answer to ${what} is over ${max} bytes: not the gateway's; is --url the gateway?`);
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
