import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AxiosError, AxiosHeaders, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { Agent, type Dispatcher } from 'undici';

/**
 * The connections to every ComfyUI of the process: a keep-alive pool per origin (undici's Agent).
 * Idle sockets are unreferenced, so they never keep a process alive.
 */
const COMFY_DISPATCHER = new Agent();

/** Where one ComfyUI lies, parsed once: `http://user:pass@host:8188/comfy/` → origin, path, auth. */
interface Target {
  origin: string;
  basePath: string;
  authorization: string | undefined;
}

function targetOf(baseUrl: string): Target {
  const url = new URL(baseUrl);
  const credentials = url.username || url.password ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined;
  return {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    authorization: credentials === undefined ? undefined : `Basic ${Buffer.from(credentials).toString('base64')}`,
  };
}

function pathOf(target: Target, config: InternalAxiosRequestConfig): string {
  const path = `${target.basePath}${config.url ?? ''}`;
  const params = config.params as Record<string, string> | undefined;
  if (!params) return path;
  const query = new URLSearchParams(params).toString();
  return query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
}

/** The request body as undici sends it. A FormData goes as the multipart bytes fetch's Response makes of it (uploads only). */
async function bodyOf(data: unknown, headers: AxiosHeaders): Promise<string | Buffer | undefined> {
  if (data === undefined || data === null) return undefined;
  if (data instanceof FormData) {
    const encoded = new Response(data);
    headers.set('Content-Type', encoded.headers.get('content-type'));
    return Buffer.from(await encoded.arrayBuffer());
  }
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  throw new TypeError('the ComfyUI adapter sends strings, Buffers and FormData only');
}

const DECODERS: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** zlib's own refusal of its input (Z_DATA_ERROR, Z_BUF_ERROR for a cut stream, brotli's ERR__ERROR_…), not a failed transfer. */
function isDecodeFailure(error: unknown): error is Error & { code: string } {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  return typeof errno === 'number' && typeof code === 'string' && /^(Z_|ERR__)/.test(code);
}

/**
 * The answer's body is not in the Content-Encoding it names (plain text labelled gzip, a cut
 * stream): the server answered, with something malformed, rather than failed to (axios passed
 * zlib's error on, which read as a failed connection).
 */
export class UndecodableBodyError extends AxiosError {
  constructor(
    readonly encoding: string,
    readonly reason: string,
    config: InternalAxiosRequestConfig,
    response: AxiosResponse,
  ) {
    super(`the body is not ${encoding} as its Content-Encoding says (${reason})`, AxiosError.ERR_BAD_RESPONSE, config, undefined, response);
  }
}

/**
 * The whole answer, decoded, up to `limit` bytes (axios's maxContentLength: -1 or Infinity for none).
 * An answer announcing more (Content-Length) is refused before a byte of it is read; one sending
 * more than it announced or than the limit is cut off there.
 */
async function readBody(body: Readable, encoding: string | string[] | undefined, declared: number, limit: number, refuse: Refusals, onChunk?: (bytes: number) => void): Promise<Buffer> {
  try {
    return await readBodyOnce(body, encoding, declared, limit, refuse, onChunk);
  } catch (error) {
    // A body left unread holds its connection busy in the pool (undici's bodyTimeout: 5 minutes).
    body.once('error', () => undefined);
    body.destroy();
    throw error;
  }
}

async function readBodyOnce(body: Readable, encoding: string | string[] | undefined, declared: number, limit: number, refuse: Refusals, onChunk?: (bytes: number) => void): Promise<Buffer> {
  if (limit > -1 && declared > limit) throw refuse.tooLarge();
  // Content-Encoding sent twice comes as an array: one header, as node:http joins it (axios then
  // decoded nothing), and no decoder matches such a list.
  const named = (Array.isArray(encoding) ? encoding.join(', ') : encoding)?.trim().toLowerCase();
  const decode = named ? DECODERS[named] : undefined;
  if (!decode) return gather(body, declared, limit, refuse.tooLarge, onChunk);
  const decoded = pipeline(body, decode(), () => undefined);
  let sent = 0;
  body.on('data', (chunk: Buffer) => (sent += chunk.length));
  try {
    return await gather(decoded, 0, limit, refuse.tooLarge, onChunk);
  } catch (error) {
    if (!isDecodeFailure(error)) throw error;
    // No byte to decode: an empty body, whatever it is labelled (axios read it so).
    if (sent === 0) return Buffer.alloc(0);
    throw refuse.undecodable(named!, error.message);
  }
}

/** What readBody throws for an answer it refuses: larger than the limit, or not in its Content-Encoding. */
interface Refusals {
  tooLarge(): AxiosError;
  undecodable(encoding: string, reason: string): AxiosError;
}

/** A stream's bytes, up to `limit`; `declared` of them (a Content-Length, of a body read as sent) go into one buffer. */
async function gather(stream: AsyncIterable<Buffer>, declared: number, limit: number, tooLarge: () => AxiosError, onChunk?: (bytes: number) => void): Promise<Buffer> {
  // An announced length (ComfyUI's /view: a FileResponse) is read into one buffer of that size: an
  // image costs its size once, not twice (its chunks, then their concatenation).
  let whole = declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (limit > -1 && size + chunk.length > limit) throw tooLarge();
    if (whole && size + chunk.length <= whole.length) chunk.copy(whole, size);
    else if (whole) {
      // More than announced (undici normally refuses that first): gathered as chunks after all.
      chunks.push(whole.subarray(0, size));
      whole = undefined;
    }
    if (!whole) chunks.push(chunk);
    size += chunk.length;
    onChunk?.(chunk.length);
  }
  if (whole) return size === whole.length ? whole : whole.subarray(0, size);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/**
 * How long a file answer may take, in place of one timeout for the whole exchange (axios's
 * `timeout`), which cut a large file on a slow link however steadily it came (ComfyHttp sets it for
 * /view). Read from the request's config as `pace`.
 */
export interface TransferPace {
  /** No byte for this long (nor a status before it) and the transfer stalled. */
  idleMs: number;
  /** The transfer may take idleMs, plus 1 s per this many bytes arrived: slower is too slow. */
  bytesPerSecond: number;
}

/** The answer started and then stopped arriving (`stalled`), or came too slowly for its pace (`too_slow`). */
export class TransferCutError extends AxiosError {
  constructor(
    readonly reason: 'stalled' | 'too_slow',
    readonly bytesReceived: number,
    readonly pace: TransferPace,
    config: InternalAxiosRequestConfig,
  ) {
    super(reason === 'stalled' ? `no byte for ${pace.idleMs} ms` : `slower than ${pace.bytesPerSecond} bytes/s`, reason === 'stalled' ? 'ERR_TRANSFER_STALLED' : 'ERR_TRANSFER_TOO_SLOW', config);
  }
}

type Cut = { kind: 'timeout'; ms: number } | { kind: 'stalled' | 'too_slow'; bytes: number; pace: TransferPace };

/** An undici failure as axios reports one: a timeout (no answer in time) as ECONNABORTED, a cut transfer as TransferCutError, a socket error by its system code. */
function asAxiosError(error: unknown, config: InternalAxiosRequestConfig, cut: Cut | undefined): AxiosError {
  if (cut?.kind === 'timeout') return new AxiosError(`timeout of ${cut.ms}ms exceeded`, AxiosError.ECONNABORTED, config);
  if (cut) return new TransferCutError(cut.kind, cut.bytes, cut.pace, config);
  if (error instanceof AxiosError) {
    error.config ??= config;
    return error;
  }
  const { code, cause } = error as { code?: string; cause?: { code?: string } };
  return AxiosError.from(error, code === 'UND_ERR_SOCKET' ? (cause?.code ?? code) : code, config);
}

/** axios's own settle: a status that validateStatus refuses rejects with the response. */
function settle(response: AxiosResponse, config: InternalAxiosRequestConfig): AxiosResponse {
  const status = response.status;
  if (!config.validateStatus || config.validateStatus(status)) return response;
  const code = status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST;
  throw new AxiosError(`Request failed with status code ${status}`, code, config, undefined, response);
}

/**
 * axios's transport for one ComfyUI, on undici instead of node:http. Measured with the same
 * request and answer on this machine, a request cost 0.24-0.42 ms of CPU through axios's own http
 * adapter, 0.10-0.16 through this one and 0.04-0.07 through undici alone: the transport no longer
 * dominates the orchestrator's and the file-organizer's per-job CPU (three requests per job: the
 * prompt, its history, the image). ComfyHttp calls it without axios's request pipeline
 * (requestThroughAdapter); axios's errors are kept, and an axios instance may still use it.
 * Paths are relative to the base URL; `timeout` bounds the whole exchange, as in axios (a timer of
 * our own: undici's headersTimeout fires up to a second late), unless the request sets a `pace`
 * (TransferPace); answers are unzipped as axios would.
 */
export function undiciAdapter(baseUrl: string, dispatcher: Dispatcher = COMFY_DISPATCHER): AxiosAdapter {
  const target = targetOf(baseUrl);
  return async (config) => {
    const deadline = new AbortController();
    const pace = (config as { pace?: TransferPace }).pace;
    const started = Date.now();
    let received = 0;
    let answered = false;
    let cut: Cut | undefined;
    let timer: NodeJS.Timeout | undefined;
    const cutOff = (how: Cut) => {
      cut = how;
      deadline.abort();
    };
    // Armed again at the status and at each chunk: the next byte is due within idleMs, and the
    // whole answer within idleMs plus the time its bytes so far earned at the least rate.
    // Without a pace the one timer bounds the whole exchange, the body too: it is left as it is.
    const arm = () => {
      if (!pace) return;
      clearTimeout(timer);
      const idle = pace.idleMs;
      const earned = started + pace.idleMs + (received * 1000) / pace.bytesPerSecond - Date.now();
      // No status yet: the server did not answer at all, as unreachable as one that times out.
      const how = (): Cut => (!answered ? { kind: 'timeout', ms: idle } : { kind: idle <= earned ? 'stalled' : 'too_slow', bytes: received, pace });
      timer = setTimeout(() => cutOff(how()), Math.max(0, Math.min(idle, earned)));
    };
    if (pace) arm();
    else if (config.timeout) timer = setTimeout(() => cutOff({ kind: 'timeout', ms: config.timeout! }), config.timeout);
    const signal = config.signal ? AbortSignal.any([deadline.signal, config.signal as AbortSignal]) : deadline.signal;
    try {
      const headers = AxiosHeaders.from(config.headers);
      if (target.authorization) headers.set('Authorization', target.authorization);
      // What axios's http adapter asks for; real ComfyUI compresses only with --enable-compress-response-body.
      if (!headers.has('Accept-Encoding')) headers.set('Accept-Encoding', 'gzip, deflate, br');
      const body = await bodyOf(config.data, headers);
      const answer = await dispatcher.request({
        origin: target.origin,
        path: pathOf(target, config),
        method: (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod,
        headers: headers.toJSON() as Record<string, string>,
        body,
        signal,
      });
      answered = true;
      arm();
      // As undici gives them (names in lower case): axios makes its AxiosHeaders of them once the
      // adapter answers, and ComfyHttp, which calls the adapter itself, reads none of them.
      const responseHeaders = answer.headers as Record<string, string>;
      const limit = config.maxContentLength ?? -1;
      const declared = Number(responseHeaders['content-length'] ?? 0) || 0;
      const statusOnly: AxiosResponse = { data: undefined, status: answer.statusCode, statusText: '', headers: responseHeaders, config };
      const refuse: Refusals = {
        // axios's own error for it, with the status: its caller tells a too-large answer from a failed connection.
        tooLarge: () => new AxiosError(`maxContentLength size of ${limit} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, undefined, statusOnly),
        undecodable: (encoding, reason) => new UndecodableBodyError(encoding, reason, config, statusOnly),
      };
      const onChunk = pace
        ? (bytes: number) => {
            received += bytes;
            arm();
          }
        : undefined;
      const bytes = await readBody(answer.body, answer.headers['content-encoding'], declared, limit, refuse, onChunk);
      const data = config.responseType === 'arraybuffer' ? bytes : bytes.toString('utf8');
      return settle({ data, status: answer.statusCode, statusText: '', headers: responseHeaders, config, request: undefined }, config);
    } catch (error) {
      throw asAxiosError(error, config, deadline.signal.aborted ? cut : undefined);
    } finally {
      clearTimeout(timer);
    }
  };
}
