import { connect, type Socket } from 'node:net';
import { startSimulator, type Simulator } from '../src';

jest.setTimeout(30_000);

/** Sends one GET over `socket` and resolves with the status line of its answer (the whole answer read by Content-Length). */
function get(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    const onData = (chunk: Buffer) => {
      raw += chunk.toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(raw.slice(0, end))?.[1] ?? 0);
      if (raw.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(raw.slice(0, raw.indexOf('\r\n')));
    };
    const onClose = () => reject(new Error('the server closed the connection'));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

/**
 * aiohttp keeps an idle connection for 75 s (keepalive_timeout): a client may reuse one after a pause
 * that Node's own default (5 s) would have cut, and meet a reset mid-request.
 */
describe('keep-alive as aiohttp keeps it', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(() => sim.close());

  it('when a connection sits idle for 6 s between two requests, then the second is answered on it', async () => {
    const socket = connect(sim.port, '127.0.0.1');
    try {
      expect(await get(socket, '/queue')).toBe('HTTP/1.1 200 OK');
      await new Promise((r) => setTimeout(r, 6_000));
      expect(await get(socket, '/queue')).toBe('HTTP/1.1 200 OK');
    } finally {
      socket.destroy();
    }
  });
});
