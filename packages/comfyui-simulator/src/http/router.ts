import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendServerError, sendText } from './respond';
import { setRouteHeaders, setServerHeader } from './server-headers';

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, context: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

/** A minimal router that, like ComfyUI, serves every route both at /x and at /api/x. */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly onError: (error: unknown) => void) {}

  add(method: string, path: string, handler: RouteHandler): this {
    for (const variant of [path, `/api${path === '/' ? '' : path}`]) {
      this.routes.push({ method, segments: variant.split('/').filter(Boolean), handler });
    }
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setServerHeader(res);
    let url: URL;
    let parts: string[];
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      parts = url.pathname.split('/').filter(Boolean).map((part) => decodeURIComponent(part));
    } catch {
      sendText(res, 400, '400: Bad Request');
      return;
    }
    let pathMatched = false;
    for (const route of this.routes) {
      const params = match(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      setRouteHeaders(res);
      try {
        await route.handler(req, res, { params, query: url.searchParams });
      } catch (error) {
        this.onError(error);
        sendServerError(res);
      }
      return;
    }
    if (pathMatched) sendText(res, 405, '405: Method Not Allowed');
    else sendText(res, 404, '404: Not Found');
  }
}

function match(segments: string[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    if (segments[i].startsWith(':')) params[segments[i].slice(1)] = parts[i];
    else if (segments[i] !== parts[i]) return undefined;
  }
  return params;
}
