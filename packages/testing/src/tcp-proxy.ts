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
  /**
   * A partition (or a frozen host): no byte goes through either way, yet every connection stays
   * open, and new ones are taken and held; nothing is refused or reset, so a client notices only
   * by its own timeouts.
   */
  blackHole(): void;
  /** The partition heals: what was held goes through, and held connections reach the server. */
  heal(): void;
  /** How many connections clients have opened through the proxy so far. */
  connections(): number;
  close(): Promise<void>;
}

/** A client's connection and, once the proxy has reached the server for it, the server side. */
interface Relay {
  client: Socket;
  upstream?: Socket;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const relays = new Set<Relay>();
  let partitioned = false;
  let opened = 0;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    // A cut relay resets its partner: the database client sees a dropped connection, as in an outage.
    socket.on('error', () => undefined);
  };
  const flow = ({ client, upstream }: Relay) => {
    if (upstream) client.pipe(upstream).pipe(client);
  };
  const reach = (relay: Relay) => {
    const upstream = createConnection(target);
    relay.upstream = upstream;
    track(upstream);
    upstream.on('close', () => relay.client.destroy());
    flow(relay);
  };
  const relay = (client: Socket) => {
    opened++;
    const entry: Relay = { client };
    relays.add(entry);
    track(client);
    client.on('close', () => {
      relays.delete(entry);
      entry.upstream?.destroy();
    });
    // Held while partitioned: the server is not reached until the partition heals.
    if (!partitioned) reach(entry);
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
    partitioned = false;
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
    blackHole: () => {
      partitioned = true;
      // What is not yet relayed stays in the sockets' buffers: held until the partition heals, not lost.
      for (const { client, upstream } of relays) {
        if (!upstream) continue;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    heal: () => {
      if (!partitioned) return;
      partitioned = false;
      for (const entry of relays) {
        if (entry.upstream) flow(entry);
        else reach(entry);
      }
    },
    connections: () => opened,
    close: stop,
  };
}
