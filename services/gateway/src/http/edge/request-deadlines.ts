import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { answerClientError } from './client-error-answer';
import type { EdgeSettings } from './edge-settings';

/**
 * The routes that receive large bodies (a reference image, a character bundle): only these get
 * HTTP_UPLOAD_TIMEOUT_MS to send their request. Matched on method and path before routing, as
 * Express matches them (case-insensitively, an optional trailing slash).
 */
export const UPLOAD_ROUTES: ReadonlyArray<{ method: string; path: RegExp }> = [
  { method: 'POST', path: /^\/api\/v1\/characters\/import\/?$/i },
  { method: 'POST', path: /^\/api\/v1\/characters\/[^/]+\/references\/?$/i },
];

export const isUploadRoute = (method: string | undefined, url: string | undefined): boolean => {
  const pathname = (url ?? '').split('?')[0];
  return UPLOAD_ROUTES.some((route) => route.method === method && route.path.test(pathname));
};

/**
 * The gateway's HTTP server with bounded waits for slow clients. Node enforces one
 * `requestTimeout` per server, so the server's is the upload one (the longest) and every other
 * request gets a deadline of its own (`armRequestDeadline`). Node checks its timeouts every
 * `connectionsCheckingInterval` (30 s by default, which let slow sockets live 21 s past a
 * 10 s limit): checked four times per headers timeout, at most once a second, a slow socket
 * is closed within a quarter of the limit after it.
 */
export function createBoundedServer(listener: RequestListener, settings: EdgeSettings): Server {
  const server = createServer(
    {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: Math.max(settings.uploadTimeoutMs, settings.requestTimeoutMs, settings.headersTimeoutMs),
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs) / 4))),
    },
    listener,
  );
  // What Node's parser refuses (too large, malformed, too slow) is answered as JSON too.
  server.on('clientError', answerClientError);
  // Every request, Socket.IO's long-polling included (it answers before Express sees the request).
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!isUploadRoute(req.method, req.url)) armRequestDeadline(req, res, settings.requestTimeoutMs);
  });
  return server;
}

/**
 * Closes the connection of a request whose body has not fully arrived `timeoutMs` after its
 * headers, answering 408 when nothing was answered yet. A request answered early (a 404, a 401)
 * whose body still trickles in is cut too: Node would otherwise keep reading it on that socket.
 */
export function armRequestDeadline(req: IncomingMessage, res: ServerResponse, timeoutMs: number): void {
  const socket = req.socket;
  const timer = setTimeout(() => {
    if (req.complete) return;
    if (res.headersSent || res.writableEnded) {
      socket.destroy();
      return;
    }
    res.once('finish', () => socket.destroy());
    res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    res.end(JSON.stringify({ error: { code: 'request_timeout', message: `the request was not received within ${timeoutMs} ms` } }));
    // A client that does not read the 408 either must not hold the socket.
    setTimeout(() => socket.destroy(), 1_000).unref();
  }, timeoutMs);
  timer.unref();
  const clear = () => {
    clearTimeout(timer);
    req.off('end', clear);
    socket.off('close', clear);
  };
  req.once('end', clear);
  // Removed again with the timer: a keep-alive socket serves many requests.
  socket.once('close', clear);
  res.once('close', () => {
    if (req.complete) clear();
  });
}
