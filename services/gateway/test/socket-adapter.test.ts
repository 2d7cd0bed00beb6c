import { io as connect, type Socket } from 'socket.io-client';
import { uniqueQueuePrefix, waitFor } from '@anime/testing';
import { startTestGateway, type TestGateway } from './start-test-gateway';

async function connected(gateway: TestGateway): Promise<Socket> {
  const socket = connect(gateway.baseUrl, { transports: ['websocket'], forceNew: true, auth: { token: gateway.apiKey } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/**
 * Two gateways on one Redis and QUEUE_PREFIX, each its own Socket.IO server on the Redis adapter:
 * nothing links them but Redis, as two gateway processes behind a load balancer.
 */
describe('Socket.IO across gateways (Redis adapter)', () => {
  let a: TestGateway;
  let b: TestGateway;
  let other: TestGateway;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const queuePrefix = uniqueQueuePrefix('sock-adapter');
    a = await startTestGateway('sock-adapter-a', { queuePrefix, socketAdapter: true });
    b = await startTestGateway('sock-adapter-b', { queuePrefix, socketAdapter: true });
    other = await startTestGateway('sock-adapter-other', { socketAdapter: true });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    // One after the other: A and B remove the same prefix's keys.
    for (const gateway of [a, b, other]) await gateway?.close();
  });

  it('when gateway A joins a client of gateway B to a room and broadcasts to it, then that client receives it once, and a gateway on another prefix sees neither', async () => {
    const onB = await connected(b);
    const onA = await connected(a);
    const onOther = await connected(other);
    sockets.push(onB, onA, onOther);
    const received: Record<string, unknown[]> = { b: [], a: [], other: [] };
    onB.on('wall:notice', (m) => received.b.push(m));
    onA.on('wall:notice', (m) => received.a.push(m));
    onOther.on('wall:notice', (m) => received.other.push(m));

    // fetchSockets and socketsJoin go through the adapter: A sees and moves a socket it does not hold.
    const seen = (await a.gateway.io.fetchSockets()).map((s) => s.id).sort();
    expect(seen).toEqual([onA.id, onB.id].sort());
    a.gateway.io.in(onB.id!).socketsJoin('wall');
    // socketsJoin is a broadcast to the other gateways: B joins its socket when the message arrives.
    await waitFor(async () => (await a.gateway.io.in('wall').fetchSockets()).length > 0, 'B\'s socket in the room', 5_000);
    expect((await a.gateway.io.in('wall').fetchSockets()).map((s) => s.id)).toEqual([onB.id]);

    a.gateway.io.to('wall').emit('wall:notice', { from: 'a', n: 1 });
    a.gateway.io.emit('wall:notice', { from: 'a', n: 2, everyone: true });
    await waitFor(() => received.b.length >= 2 && received.a.length >= 1, 'both broadcasts', 5_000);
    expect(received.b).toEqual([{ from: 'a', n: 1 }, { from: 'a', n: 2, everyone: true }]);
    expect(received.a).toEqual([{ from: 'a', n: 2, everyone: true }]);
    expect(received.other).toEqual([]);
  });
});
