import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/** A node:http server with a ws endpoint at /ws, standing in for ComfyUI where a test needs answers or frames no simulator sends. */
export interface StandInServer {
  base: string;
  sockets: WebSocketServer;
  close(): Promise<void>;
}

/** Listens on a free port of 127.0.0.1, answering HTTP with `handler`. */
export async function startStandInServer(handler: http.RequestListener): Promise<StandInServer> {
  const server = http.createServer(handler);
  const sockets = new WebSocketServer({ server, path: '/ws' });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    async close() {
      for (const socket of sockets.clients) socket.terminate();
      await new Promise((resolve) => sockets.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
