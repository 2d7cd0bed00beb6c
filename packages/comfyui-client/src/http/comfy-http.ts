import axios, { type AxiosInstance } from 'axios';
import { ComfyHttpError } from '../errors/comfy-http-error';
import { ComfyUnreachableError } from '../errors/comfy-unreachable-error';
import { parseComfyJson } from '../parse-comfy-json';
import { undiciAdapter } from './undici-adapter';

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

/**
 * axios bound to one ComfyUI. Network failures and 5xx become ComfyUnreachableError; other
 * statuses are returned to the caller, which knows what a 400 means for its route. A JSON answer is
 * parsed, Python's NaN and Infinity included (a body that is not JSON stays text). Set up for the
 * hot path (per job the orchestrator makes two requests and the file-organizer one): the requests go
 * over undici's keep-alive pools (undiciAdapter) rather than axios's http adapter, and no redirect
 * is followed (ComfyUI's API has none).
 */
export class ComfyHttp {
  private readonly axios: AxiosInstance;

  constructor(readonly baseUrl: string, timeoutMs: number) {
    this.axios = axios.create({
      adapter: undiciAdapter(baseUrl),
      timeout: timeoutMs,
      validateStatus: () => true,
      // Read by undiciAdapter: no bound on ComfyUI's answers (an image, a large /object_info).
      maxContentLength: Infinity,
      // In place of axios's own JSON parse: ComfyUI's JSON may hold Python's NaN (parseComfyJson).
      transformResponse: (data: unknown) => (typeof data === 'string' ? parseComfyJson(data) : data),
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
