import net from 'node:net';
import { ComfyHttp } from '../src/http/comfy-http';

/**
 * A server or proxy breaking HTTP itself (raw bytes on a socket: what node:http will not write and
 * the simulator does not do): each answer ends in a value or a clear error, and its connection is
 * either given back to the pool or closed, never left busy.
 */
describe('ComfyHttp facing answers that break HTTP (raw socket server)', () => {
  let server: net.Server;
  let base: string;
  /** Connections the server accepted: an answer whose connection is reused adds none. */
  let connections = 0;
  let answer: (path: string) => Buffer;

  beforeAll(async () => {
    server = net.createServer((socket) => {
      connections++;
      socket.on('error', () => undefined);
      let head = '';
      socket.on('data', (chunk) => {
        head += chunk.toString('latin1');
        // GETs only: a request ends with its head.
        for (let end = head.indexOf('\r\n\r\n'); end >= 0; end = head.indexOf('\r\n\r\n')) {
          const path = head.slice(0, end).split(' ')[1];
          head = head.slice(end + 4);
          socket.write(answer(path));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (connections = 0));

  it('when an answer names its Content-Encoding twice, then it is read as sent (as node:http joined the two, nothing decoded), and its connection serves the next request', async () => {
    // Larger than socket buffers: a body nobody reads holds its connection.
    const body = `{"pad":"${' '.repeat(1024 * 1024)}"}`;
    answer = () => Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-encoding: gzip\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 'latin1');
    const client = new ComfyHttp(base, 2_000);
    for (let i = 0; i < 3; i++) {
      expect((await client.okObject<{ pad: string }>({ url: `/history/p-${i}` })).pad).toHaveLength(1024 * 1024);
      // undici frees the connection on the turn after the answer's end.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(connections).toBe(1);
  });
});
