import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { ComfyHttpError } from '../errors/comfy-http-error';
import { ComfyUnreachableError } from '../errors/comfy-unreachable-error';

/** One request to ComfyUI: a JSON body (or a FormData upload), an answer read as JSON (or bytes). */
export interface ComfyRequest {
  method?: 'get' | 'post';
  /** A path under the base URL, e.g. `/history/<id>`. */
  url: string;
  params?: Record<string, string>;
  data?: unknown;
  responseType?: 'json' | 'arraybuffer';
}

export interface ComfyResponse<T> {
  status: number;
  data: T;
}

/** How a request that outlived its time fails (axios' code, which the messages name). */
const TIMED_OUT = 'ECONNABORTED';

/**
 * node:http bound to one ComfyUI, on the global keep-alive agent (as axios used). Network failures and 5xx
 * become ComfyUnreachableError; other statuses are returned to the caller, which knows what a 400
 * means for its route. A JSON answer is parsed (a body that is not JSON stays text); no redirect
 * is followed. Plain node:http rather than axios: per prompt the orchestrator makes two requests,
 * and axios' config merging, transforms and redirect wrapper cost more CPU than the requests themselves.
 */
export class ComfyHttp {
  private readonly origin: URL;
  private readonly transport: typeof http | typeof https;
  private readonly auth: string | undefined;

  constructor(readonly baseUrl: string, private readonly timeoutMs: number) {
    this.origin = new URL(baseUrl.replace(/\/+$/, ''));
    this.transport = this.origin.protocol === 'https:' ? https : http;
    this.auth = this.origin.username ? `${decodeURIComponent(this.origin.username)}:${decodeURIComponent(this.origin.password)}` : undefined;
  }

  async request<T = any>(config: ComfyRequest): Promise<ComfyResponse<T>> {
    const method = (config.method ?? 'get').toUpperCase();
    const what = `${method} ${config.url}`;
    let response: ComfyResponse<T>;
    try {
      const { body, contentType } = await encodeBody(config.data);
      response = await this.send<T>(method, this.pathOf(config), body, contentType, config.responseType ?? 'json');
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new ComfyUnreachableError(`ComfyUI at ${this.baseUrl} unreachable (${what}: ${code ?? (error as Error).message})`, undefined, { cause: error });
    }
    if (response.status >= 500) {
      throw new ComfyUnreachableError(`ComfyUI at ${this.baseUrl} answered ${response.status} to ${what}`, response.status);
    }
    return response;
  }

  /** A request whose only acceptable answer is 200. */
  async ok<T = any>(config: ComfyRequest): Promise<T> {
    const response = await this.request<T>(config);
    if (response.status !== 200) throw new ComfyHttpError((config.method ?? 'get').toUpperCase(), String(config.url), response.status, response.data);
    return response.data;
  }

  private pathOf(config: ComfyRequest): string {
    const base = this.origin.pathname.replace(/\/+$/, '');
    const query = config.params ? `?${new URLSearchParams(config.params).toString()}` : '';
    return `${base}/${config.url.replace(/^\/+/, '')}${query}`;
  }

  private send<T>(method: string, path: string, body: Buffer | undefined, contentType: string | undefined, responseType: 'json' | 'arraybuffer'): Promise<ComfyResponse<T>> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { accept: 'application/json, */*' };
      if (body) {
        headers['content-type'] = contentType;
        headers['content-length'] = body.length;
      }
      const request = this.transport.request(
        { protocol: this.origin.protocol, hostname: this.origin.hostname, port: this.origin.port, path, method, headers, agent: this.transport.globalAgent, auth: this.auth },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            clearTimeout(timer);
            try {
              const raw = decode(Buffer.concat(chunks), response.headers['content-encoding']);
              resolve({ status: response.statusCode ?? 0, data: (responseType === 'arraybuffer' ? raw : parseText(raw)) as T });
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      const timer = setTimeout(() => request.destroy(Object.assign(new Error(`timeout of ${this.timeoutMs}ms exceeded`), { code: TIMED_OUT })), this.timeoutMs);
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.end(body);
    });
  }
}

async function encodeBody(data: unknown): Promise<{ body?: Buffer; contentType?: string }> {
  if (data === undefined) return {};
  if (data instanceof FormData) {
    // The multipart encoding (boundary and all) as fetch would send it.
    const encoded = new Request('http://comfyui.invalid/', { method: 'POST', body: data });
    return { body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type') ?? undefined };
  }
  return { body: Buffer.from(JSON.stringify(data)), contentType: 'application/json' };
}

/** A compressed answer (only if a server compresses unasked) as plain bytes. */
function decode(raw: Buffer, encoding: string | undefined): Buffer {
  if (!encoding || encoding === 'identity' || !raw.length) return raw;
  if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(raw);
  if (encoding === 'deflate') return inflateSync(raw);
  if (encoding === 'br') return brotliDecompressSync(raw);
  return raw;
}

/** JSON when it parses, else the text itself (as axios did). */
function parseText(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (!text) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
