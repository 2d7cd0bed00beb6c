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

/**
 * What ComfyUI's server.add_routes registers last, `web.static('/', self.web_root)`, answers for every
 * path: a file of the web root for GET and HEAD (none here but the index GET / serves), else 404.
 */
const STATIC_METHODS = ['GET', 'HEAD'];

/**
 * A minimal router that, like ComfyUI, serves every route both at /x and at /api/x (add_routes copies
 * each RouteDef to "/api" + path, so / is also /api/). Routes match as aiohttp's resources do: the
 * whole path, segment by segment ("/queue/" and "//queue" are not "/queue"), a {param} being one
 * non-empty segment. A GET route answers HEAD too (RouteTableDef.get registers with add_get, whose
 * allow_head defaults to True). Unmatched, the static catch-all above decides: GET or HEAD is a 404;
 * any other method a 405 whose Allow lists, sorted and comma-joined, the methods of every resource that
 * matched the path, the catch-all's GET and HEAD included (UrlDispatcher.resolve, HTTPMethodNotAllowed).
 * Neither passes ComfyUI's Content-Security-Policy middleware: the exception skips it.
 */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly onError: (error: unknown) => void) {}

  add(method: string, path: string, handler: RouteHandler): this {
    for (const variant of [path, `/api${path}`]) this.routes.push({ method, segments: variant.split('/'), handler });
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setServerHeader(res);
    const { pathname, query } = splitTarget(req.url ?? '/');
    let parts: string[];
    try {
      parts = pathname.split('/').map((part) => decodeURIComponent(part));
    } catch {
      sendText(res, 400, '400: Bad Request');
      return;
    }
    const method = req.method ?? 'GET';
    const allowed = new Set(STATIC_METHODS);
    for (const route of this.routes) {
      const params = match(route.segments, parts);
      if (!params) continue;
      const methods = route.method === 'GET' ? ['GET', 'HEAD'] : [route.method];
      if (!methods.includes(method)) {
        for (const each of methods) allowed.add(each);
        continue;
      }
      setRouteHeaders(res);
      try {
        await route.handler(req, res, { params, query });
      } catch (error) {
        this.onError(error);
        sendServerError(res);
      }
      return;
    }
    if (STATIC_METHODS.includes(method)) {
      sendText(res, 404, '404: Not Found');
      return;
    }
    res.setHeader('Allow', [...allowed].sort().join(','));
    sendText(res, 405, '405: Method Not Allowed');
  }
}

/**
 * The path and query of a request target as it came: no dot segment is resolved and "//queue" stays a
 * path (aiohttp 3.8.4 matches the path as sent). An absolute-form target ("http://host/x") gives its path.
 */
function splitTarget(target: string): { pathname: string; query: URLSearchParams } {
  const relative = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') || '/';
  const [beforeFragment] = relative.split('#', 1);
  const mark = beforeFragment.indexOf('?');
  if (mark === -1) return { pathname: beforeFragment, query: new URLSearchParams() };
  return { pathname: beforeFragment.slice(0, mark), query: new URLSearchParams(beforeFragment.slice(mark + 1)) };
}

function match(segments: string[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    if (segments[i].startsWith(':') && parts[i] !== '') params[segments[i].slice(1)] = parts[i];
    else if (segments[i] !== parts[i]) return undefined;
  }
  return params;
}
