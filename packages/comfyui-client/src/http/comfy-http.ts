import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
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

/** One keep-alive agent per protocol for every ComfyUI of the process. */
const KEEP_ALIVE = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/**
 * axios bound to one ComfyUI. Network failures and 5xx become ComfyUnreachableError; other
 * statuses are returned to the caller, which knows what a 400 means for its route. A JSON answer is
 * parsed (a body that is not JSON stays text). Set up for the hot path: no redirect is followed
 * (ComfyUI's API has none, and without them axios skips its redirect wrapper), and connections are
 * kept alive: per prompt the orchestrator makes two requests.
 */
export class ComfyHttp {
  private readonly axios: AxiosInstance;

  constructor(readonly baseUrl: string, timeoutMs: number) {
    this.axios = axios.create({
      baseURL: baseUrl.replace(/\/+$/, ''),
      timeout: timeoutMs,
      validateStatus: () => true,
      // ComfyUI sits next to the orchestrator; a proxy from the environment would only get in the way.
      proxy: false,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      maxRedirects: 0,
      httpAgent: KEEP_ALIVE.http,
      httpsAgent: KEEP_ALIVE.https,
    });
  }

  async request<T = any>(config: ComfyRequest): Promise<ComfyResponse<T>> {
    const method = (config.method ?? 'get').toUpperCase();
    const what = `${method} ${config.url}`;
    let response: ComfyResponse<T>;
    try {
      const answer = await this.axios.request<T>(config);
      response = { status: answer.status, data: answer.data };
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
}
