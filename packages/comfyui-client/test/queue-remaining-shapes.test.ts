import type { WebSocket } from 'ws';
import { ComfyClient, ComfyHttpError } from '../src';
import { startStandInServer, type StandInServer } from './helpers/stand-in-server';

/**
 * queue_remaining that is not a count (text, a fraction, a negative, past any queue): what a broken
 * or hostile server sends on its socket's `status` or in GET /prompt. It never reaches the caller
 * (the orchestrator writes it to the backend's row, an integer column, which then refuses every
 * write of that backend's state); the socket's is ignored, the route's is a ComfyHttpError.
 */
describe('ComfyClient given a queue_remaining that is not a count (node:http and ws stand-in)', () => {
  let standIn: StandInServer;
  let sockets: StandInServer['sockets'];
  let base: string;
  let remaining: unknown;

  beforeAll(async () => {
    standIn = await startStandInServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ exec_info: { queue_remaining: remaining } })));
    ({ sockets, base } = standIn);
  });
  afterAll(() => standIn?.close());

  const status = (socket: WebSocket, value: unknown) => socket.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: value } } } }));

  it('when status frames carry text, a fraction, a negative or a number past any queue, then queueRemainingFromSocket is undefined; a count is taken', async () => {
    const client = new ComfyClient({ baseUrl: base });
    const connected = new Promise<WebSocket>((resolve) => sockets.once('connection', resolve));
    await client.connect();
    const socket = await connected;
    // Heard after the client's own listener (registered when it was made): the frame is read by then.
    const heard = () => new Promise<void>((resolve) => {
      const off = client.onMessage((message) => message.type === 'status' && (off(), resolve()));
    });
    const seen: unknown[] = [];
    try {
      for (const value of [3, 'lots', 4, 2.5, 5, -1, 6, 1e12, 7, { n: 1 }]) {
        const read = heard();
        status(socket, value);
        await read;
        seen.push(client.queueRemainingFromSocket);
      }
      expect(seen).toEqual([3, undefined, 4, undefined, 5, undefined, 6, undefined, 7, undefined]);
    } finally {
      client.close();
    }
  });

  it('when GET /prompt answers such a queue_remaining, then queueRemaining() is a ComfyHttpError saying so; a count or none is read', async () => {
    const client = new ComfyClient({ baseUrl: base });
    for (const value of ['lots', 2.5, -1, 1e12]) {
      remaining = value;
      const error = await client.queueRemaining().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ComfyHttpError);
      expect((error as Error).message).toBe(`ComfyUI at ${base} answered GET /prompt with a queue_remaining that is not a count`);
    }
    remaining = 4;
    expect(await client.queueRemaining()).toBe(4);
    remaining = undefined;
    expect(await client.queueRemaining()).toBe(0);
  });
});
