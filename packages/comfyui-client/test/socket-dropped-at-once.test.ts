import { createHash } from 'node:crypto';
import net from 'node:net';
import { ComfyClient } from '../src';

type Line = { level: string; message: string };

/**
 * A server that floods the socket with pings and never reads the pongs (raw WebSocket server on
 * node:net): ws drops such a socket once 60 pongs are unsent, so every socket it opens dies at
 * once. It is redialled with growing backoff and one warn line, not every 250 ms with a warn line
 * each (and, in the orchestrator, a probe of the backend each).
 */
describe('ComfyClient socket on a server that floods it with pings (raw WebSocket server)', () => {
  let server: net.Server;
  let base: string;
  let dials = 0;

  beforeAll(async () => {
    server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (head) => {
        dials++;
        const key = /sec-websocket-key: *(\S+)/i.exec(head.toString('latin1'))![1];
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        // Never reads again: the client's pongs pile up unsent.
        socket.pause();
        const ping = Buffer.concat([Buffer.from([0x89, 125]), Buffer.alloc(125, 1)]);
        const batch = Buffer.concat(Array.from({ length: 500 }, () => ping));
        const flood = () => {
          while (!socket.destroyed) if (!socket.write(batch)) return void socket.once('drain', flood);
        };
        flood();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('when each socket is dropped as soon as it opens, then redials back off (at most 5 in 3.5 s) and one warn line says it closed', async () => {
    const lines: Line[] = [];
    const client = new ComfyClient({ baseUrl: base, log: { warn: (message) => void lines.push({ level: 'warn', message }), debug: (message) => void lines.push({ level: 'debug', message }) } });
    try {
      await client.connect();
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      // Backoff 250 ms, 500, 1 s, 2 s (±25 %): the fifth redial comes after 2.8 s at the soonest, the sixth after 5.8 s.
      expect(dials).toBeGreaterThanOrEqual(2);
      expect(dials).toBeLessThanOrEqual(5);
      const closes = lines.filter((l) => /socket (still )?closed, reconnecting/.test(l.message));
      expect(closes.filter((l) => l.level === 'warn')).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});
