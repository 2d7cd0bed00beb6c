import { connect, type Socket } from 'node:net';

export interface SlowSocketResult {
  /** How long after opening each socket the server closed it (ms); Infinity when it never did. */
  closedAfterMs: number[];
}

/**
 * Opens `count` connections that each send the start of a request, then one more byte every
 * `dribbleMs`, never finishing: a slowloris. Returns how long the server let each one live,
 * giving up after `giveUpMs`.
 */
export async function slowSockets(options: { port: number; count: number; opening: string; dribbleMs: number; giveUpMs: number }): Promise<SlowSocketResult> {
  const lives = await Promise.all(
    Array.from({ length: options.count }, () =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        const socket: Socket = connect(options.port, '127.0.0.1', () => socket.write(options.opening));
        const dribble = setInterval(() => socket.writable && socket.write('a'), options.dribbleMs);
        const giveUp = setTimeout(() => finish(Infinity), options.giveUpMs);
        const finish = (after: number) => {
          clearInterval(dribble);
          clearTimeout(giveUp);
          socket.destroy();
          resolve(after);
        };
        socket.on('close', () => finish(Date.now() - started));
        socket.on('error', () => undefined);
        socket.on('data', () => undefined);
      }),
    ),
  );
  return { closedAfterMs: lives };
}
