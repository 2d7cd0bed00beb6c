import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { ComfyHttpError } from '../errors/comfy-http-error';
import { ComfyUnreachableError } from '../errors/comfy-unreachable-error';

/**
 * axios bound to one ComfyUI. Network failures and 5xx become ComfyUnreachableError; other
 * statuses are returned to the caller, which knows what a 400 means for its route.
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
    });
  }

  async request<T = any>(config: AxiosRequestConfig): Promise<AxiosResponse<T>> {
    const what = `${(config.method ?? 'get').toUpperCase()} ${config.url}`;
    let response: AxiosResponse<T>;
    try {
      response = await this.axios.request<T>(config);
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
  async ok<T = any>(config: AxiosRequestConfig): Promise<T> {
    const response = await this.request<T>(config);
    if (response.status !== 200) throw new ComfyHttpError((config.method ?? 'get').toUpperCase(), String(config.url), response.status, response.data);
    return response.data;
  }
}
