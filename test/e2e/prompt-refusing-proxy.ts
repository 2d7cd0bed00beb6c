import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A ComfyUI that is up (probes, /object_info and the WebSocket pass through to `target`) but
 * answers 503 to every POST /prompt: a transient fault on a healthy backend, which spends the
 * render stage's tries (JOB_MAX_ATTEMPTS), unlike a backend that is down.
 */
export async function startPromptRefusingProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const body = (req: IncomingMessage) => new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
  });
  const server = createServer(async (req, res) => {
    const payload = await body(req);
    if (req.method === 'POST' && req.url?.split('?')[0] === '/prompt') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('overloaded');
      return;
    }
    const answer = await fetch(new URL(req.url ?? '/', upstream), { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body: payload.length ? payload : undefined });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  // The WebSocket: relayed byte for byte, the handshake included.
  server.on('upgrade', (req, client: Socket, head) => {
    const relay = connect(Number(upstream.port), upstream.hostname, () => {
      const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\r\n');
      relay.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n\r\n`);
      relay.write(head);
      client.pipe(relay).pipe(client);
    });
    for (const s of [client, relay]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
