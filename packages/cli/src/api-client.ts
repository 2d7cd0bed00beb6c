import { CliError } from './cli-error';
import type { Connection } from './connection';

/** The gateway's REST API: JSON in, JSON out, every non-2xx a CliError carrying the gateway's own message. */
export class ApiClient {
  constructor(private readonly connection: Connection) {}

  get baseUrl(): string {
    return this.connection.baseUrl;
  }

  get key(): string | null {
    return this.connection.key;
  }

  get<T = any>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T = any>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.connection.key) headers.authorization = `Bearer ${this.connection.key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.connection.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new CliError(`cannot reach the gateway at ${this.connection.baseUrl} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}); is it running? (pnpm start)`);
    }
    const text = await response.text();
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: { code: 'not_json', message: text.slice(0, 200) } };
    }
    if (!response.ok) {
      const error = parsed?.error ?? { code: `http_${response.status}`, message: response.statusText };
      const hint = response.status === 401 ? ` (key from ${this.connection.keySource})` : '';
      // The gateway's message usually names each bad field already: a detail is added only when it does not.
      const message = String(error.message ?? '');
      const fields = Array.isArray(error.details)
        ? error.details
            .filter((d: { path?: string; message?: string }) => !message.includes(`${d.path}: ${d.message}`))
            .map((d: { path?: string; message?: string }) => `; ${d.path}: ${d.message}`)
            .join('')
        : '';
      throw new CliError(`${response.status} ${error.code}: ${message}${fields}${hint}`, 1, parsed);
    }
    return parsed as T;
  }
}
