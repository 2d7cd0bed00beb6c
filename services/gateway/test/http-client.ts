import { checkAgainstApiDocument } from './openapi-conformance';

/** A response read once: status, headers and the JSON body (or null). */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A client sending `Authorization: Bearer <token>` when a token is given (none: no header, for 401 tests). */
export function jsonClient(baseUrl: string, token?: string | null) {
  const call = async (method: string, path: string, body?: unknown | FormData): Promise<JsonResponse> => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const init: RequestInit = { method, headers };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, init);
    const text = await response.text();
    const answer = { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
    checkAgainstApiDocument({ method, url: path, status: answer.status, contentType: response.headers.get('content-type'), body: answer.body, headers: response.headers });
    return answer;
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body),
    delete: (path: string) => call('DELETE', path),
    call,
  };
}
