import { shownUrl } from '@anime/contracts';
import type { AxiosAdapter } from 'axios';
import { ComfyHttpError } from '../errors/comfy-http-error';
import { ComfyTransferError } from '../errors/comfy-transfer-error';
import { ComfyUnreachableError } from '../errors/comfy-unreachable-error';
import { isJsonObject } from '../json-object';
import { parseComfyJson } from '../parse-comfy-json';
import { requestThroughAdapter } from './adapter-request';
import { TransferCutError, undiciAdapter, UndecodableBodyError, type TransferPace } from './undici-adapter';

/** One request to ComfyUI: a JSON body (or a FormData upload), an answer read as JSON (or bytes). */
export interface ComfyRequest {
  method?: 'get' | 'post';
  /** A path under the base URL, e.g. `/history/<id>`. */
  url: string;
  params?: Record<string, string>;
  data?: unknown;
  responseType?: 'json' | 'arraybuffer';
  /** The most bytes the answer may have; default MAX_JSON_ANSWER_BYTES, or MAX_FILE_ANSWER_BYTES for bytes. */
  maxBytes?: number;
  /** Aborting cuts the request off; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The largest JSON answer read from ComfyUI. The largest real ones are a full /object_info (a few MB,
 * tens with many node packs) and /queue with many prompts waiting; more is a broken or hostile
 * server, and reading it would cost the process gigabytes (a 500 MB /history took 1.8 GB).
 */
export const MAX_JSON_ANSWER_BYTES = 64 * 1024 * 1024;
/**
 * The largest file (a /view answer) read from ComfyUI by default. A 2048² image (the largest a
 * generation asks for) is at most 16 MiB as an 8-bit RGBA PNG, a 4096² one 64 MiB; the file-organizer
 * holds up to four at once, within its 512 MiB memory limit. ComfyClient.view takes another bound.
 */
export const MAX_FILE_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * The least average rate a file (a /view answer) may come at: past the request timeout, it may take
 * 1 s more per 32 KiB arrived. A 4 MB image on a 100 KB/s link (40 s) arrives; the largest file read
 * (64 MiB) is given at most about 35 minutes; a server that trickles a few bytes now and then is
 * cut off once the request timeout is over.
 */
export const MIN_FILE_BYTES_PER_S = 32 * 1024;

const mib = (bytes: number) => `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;

export interface ComfyResponse<T> {
  status: number;
  data: T;
}

/**
 * undiciAdapter bound to one ComfyUI, called without axios's request pipeline in front of it
 * (requestThroughAdapter). `timeoutMs` bounds a JSON exchange whole; a file (an arraybuffer
 * answer) is bounded by its pace instead (TransferPace): no byte for `timeoutMs` is a stall, and it
 * may take `timeoutMs` plus 1 s per MIN_FILE_BYTES_PER_S bytes arrived. A server that does not
 * answer at all within `timeoutMs`, network failures and 5xx become ComfyUnreachableError; a file
 * that stalls or comes too slowly is a ComfyTransferError; a body that is not in the Content-Encoding
 * it names is a ComfyHttpError (an empty one is read as empty, as axios did); other
 * statuses are returned to the caller, which knows what a 400 means for its route. A JSON answer is
 * parsed, Python's NaN and Infinity included (a body that is not JSON stays text). Set up for the
 * hot path (per job the orchestrator makes two requests and the file-organizer one): the requests go
 * over undici's keep-alive pools (undiciAdapter) rather than axios's http adapter, and no redirect
 * is followed (ComfyUI's API has none).
 */
export class ComfyHttp {
  private readonly adapter: AxiosAdapter;
  private readonly timeoutMs: number;
  private readonly filePace: TransferPace;
  /** `baseUrl` as the messages quote it (credentials as ***). */
  readonly shownUrl: string;

  constructor(readonly baseUrl: string, timeoutMs: number) {
    this.shownUrl = shownUrl(baseUrl, '(a URL not shown)');
    this.filePace = { idleMs: timeoutMs, bytesPerSecond: MIN_FILE_BYTES_PER_S };
    this.adapter = undiciAdapter(baseUrl);
    this.timeoutMs = timeoutMs;
  }

  async request<T = any>(config: ComfyRequest): Promise<ComfyResponse<T>> {
    const method = (config.method ?? 'get').toUpperCase();
    const what = `${method} ${config.url}`;
    const { maxBytes, ...request } = config;
    const limit = maxBytes ?? (config.responseType === 'arraybuffer' ? MAX_FILE_ANSWER_BYTES : MAX_JSON_ANSWER_BYTES);
    let response: ComfyResponse<T>;
    try {
      const paced = config.responseType === 'arraybuffer' ? { timeout: 0, pace: this.filePace } : {};
      const answer = await requestThroughAdapter(this.adapter, { ...request, timeout: this.timeoutMs, maxContentLength: limit, ...paced });
      // In place of axios's own JSON parse: ComfyUI's JSON may hold Python's NaN (parseComfyJson).
      response = { status: answer.status, data: (typeof answer.data === 'string' ? parseComfyJson(answer.data) : answer.data) as T };
    } catch (error) {
      config.signal?.throwIfAborted();
      const code = (error as { code?: string }).code;
      const status = (error as { response?: { status?: number } }).response?.status;
      if (status !== undefined && status < 500 && code === 'ERR_BAD_RESPONSE' && /^maxContentLength/.test((error as Error).message)) {
        // Not a network fault to try again: the server answers something no ComfyUI does.
        throw new ComfyHttpError(method, String(config.url), status, undefined, `ComfyUI at ${this.shownUrl} answered ${what} with more than ${mib(limit)}: no such answer is read`, true);
      }
      if (error instanceof TransferCutError) throw transferError(this.shownUrl, what, error);
      if (error instanceof UndecodableBodyError) {
        const { status } = error.response!;
        if (status >= 500) throw this.serverFailed(status, what);
        // Answered, with a body that is not in the encoding it names: malformed, as a page that is not JSON is.
        throw new ComfyHttpError(method, String(config.url), status, undefined, `ComfyUI at ${this.shownUrl} answered ${what} with a body that is not ${error.encoding} as its Content-Encoding says (${error.reason})`);
      }
      throw new ComfyUnreachableError(`ComfyUI at ${this.shownUrl} unreachable (${what}: ${code ?? (error as Error).message})`, undefined, { cause: error });
    }
    if (response.status >= 500) throw this.serverFailed(response.status, what);
    return response;
  }

  /** A 5xx, whatever its body: ComfyUI (or a proxy before it) failed, and another try may find it well. */
  private serverFailed(status: number, what: string): ComfyUnreachableError {
    return new ComfyUnreachableError(`ComfyUI at ${this.shownUrl} answered ${status} to ${what}`, status);
  }

  /** A request whose only acceptable answer is 200: JSON (or nothing), or bytes when asked for. */
  async ok<T = any>(config: ComfyRequest): Promise<T> {
    const response = await this.request<T>(config);
    const method = (config.method ?? 'get').toUpperCase();
    if (response.status !== 200) throw new ComfyHttpError(method, String(config.url), response.status, response.data);
    // parseComfyJson hands back text that is not JSON: a proxy's page, a server that is not ComfyUI.
    if (config.responseType !== 'arraybuffer' && typeof response.data === 'string' && response.data.trim() !== '') {
      throw new ComfyHttpError(method, String(config.url), 200, response.data, `ComfyUI at ${this.shownUrl} answered ${method} ${config.url} with a body that is not JSON`);
    }
    return response.data;
  }

  /** As ok(), for the routes whose answer is a JSON object (/history, /queue, /object_info…): anything else is a ComfyHttpError. */
  async okObject<T extends object = Record<string, any>>(config: ComfyRequest): Promise<T> {
    const data = await this.ok<unknown>(config);
    if (!isJsonObject(data)) {
      const method = (config.method ?? 'get').toUpperCase();
      const what = data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data === 'string' ? 'nothing' : `a ${typeof data}`;
      throw new ComfyHttpError(method, String(config.url), 200, data, `ComfyUI at ${this.shownUrl} answered ${method} ${config.url} with ${what} where a JSON object is due`);
    }
    return data as T;
  }
}

/** What a cut transfer did: the request, how much of the answer came, and which bound cut it. */
function transferError(baseUrl: string, what: string, cut: TransferCutError): ComfyTransferError {
  const { idleMs, bytesPerSecond } = cut.pace;
  const got = cut.bytesReceived < 1024 * 1024 ? `${cut.bytesReceived} bytes` : mib(cut.bytesReceived);
  const message =
    cut.reason === 'stalled'
      ? `ComfyUI at ${baseUrl} stalled sending ${what}: no byte for ${idleMs / 1000} s after ${got} of the answer`
      : `ComfyUI at ${baseUrl} sent ${what} too slowly: ${got} of the answer came in the time allowed (${idleMs / 1000} s plus 1 s per ${bytesPerSecond / 1024} KiB arrived)`;
  return new ComfyTransferError(message, cut.reason, cut.bytesReceived);
}
