import { AxiosHeaders, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';

/** What ComfyHttp hands the adapter: axios's request config, as far as undiciAdapter reads it. */
export interface AdapterRequest {
  method?: 'get' | 'post';
  url: string;
  params?: Record<string, string>;
  data?: unknown;
  responseType?: 'json' | 'arraybuffer';
  timeout: number;
  maxContentLength: number;
  signal?: AbortSignal;
  /** undiciAdapter's TransferPace, for file answers. */
  pace?: unknown;
}

/** axios's default Accept, kept so that a ComfyUI (or a proxy before it) sees the requests it always saw. */
const ACCEPT = 'application/json, text/plain, */*';

const plainObject = (data: unknown): data is object =>
  data !== null && typeof data === 'object' && !(data instanceof FormData) && !Buffer.isBuffer(data) && !ArrayBuffer.isView(data) && !(data instanceof ArrayBuffer) && !(data instanceof URLSearchParams);

/**
 * One request through an axios adapter (undiciAdapter) without axios's request pipeline in front of
 * it, which cost the orchestrator and the file-organizer 7–8 % of their CPU (merging configs,
 * normalizing headers, running transforms) for three requests per job. What that pipeline did for
 * ComfyHttp's requests is done here: axios's Accept, a plain object sent as JSON with its
 * Content-Type, a POST without one marked form-urlencoded as axios marks it (a FormData's multipart
 * type is set by the adapter), every status let through (validateStatus), and a request whose
 * signal aborted meanwhile refused even when its answer came. The answer's data is left as the
 * adapter read it: text (for the caller to parse) or a Buffer.
 */
export async function requestThroughAdapter(adapter: AxiosAdapter, request: AdapterRequest): Promise<AxiosResponse> {
  request.signal?.throwIfAborted();
  const method = request.method ?? 'get';
  const headers = new AxiosHeaders({ Accept: ACCEPT });
  let data = request.data;
  if (plainObject(data)) {
    headers.setContentType('application/json');
    data = JSON.stringify(data);
  }
  if (method === 'post') headers.setContentType('application/x-www-form-urlencoded', false);
  const config = { ...request, method, data, headers, validateStatus: () => true } as unknown as InternalAxiosRequestConfig;
  const answer = await adapter(config);
  request.signal?.throwIfAborted();
  return answer;
}
