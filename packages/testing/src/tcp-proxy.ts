import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP relay in front of a server (PostgreSQL) whose outage a test can switch on and off. */
export interface TcpProxy {
  port: number;
  /** The URL with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  /** An outage: open connections are cut and new ones refused (nothing listens on the port). */
  refuse(): Promise<void>;
  /** The server is back: the proxy listens again on the same port. */
  accept(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const relay = (client: Socket) => {
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      // A cut relay resets its partner: the database client sees a dropped connection, as in an outage.
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  let server: Server | null = null;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer(relay);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve((s.address() as { port: number }).port);
      });
    });
  const stop = async () => {
    const s = server;
    server = null;
    for (const socket of open) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const port = await listen(0);
  return {
    port,
    urlFor: (url) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    refuse: stop,
    accept: async () => {
      if (!server) await listen(port);
    },
    close: stop,
  };
}
