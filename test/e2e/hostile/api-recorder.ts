/** One answer of the gateway, read once. */
export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A REST client over fetch that remembers every status it saw, so a test can assert at the end
 * that nothing in the whole run was a 5xx.
 */
export function recordingApi(baseUrl: string) {
  const seen: { method: string; path: string; status: number }[] = [];
  const call = async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    let body: RequestInit["body"];
    if (options.body instanceof FormData) body = options.body;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    seen.push({ method, path, status: response.status });
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (a file); kept as text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return {
    call,
    get: (path: string, options?: CallOptions) => call('GET', path, options),
    post: (path: string, options?: CallOptions) => call('POST', path, options),
    serverErrors: () => seen.filter((s) => s.status >= 500),
    count: () => seen.length,
  };
}
