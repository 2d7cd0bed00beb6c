import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import type { StackInstance } from '@anime/stack';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { Redis } from 'ioredis';
import { recordJobEvents } from './socket-recorder';
import { startStackFixture, type StackFixture } from './stack-fixture';

/**
 * Two gateway processes on one Redis and QUEUE_PREFIX (behind a load balancer in production): a
 * client of gateway B follows a job submitted through gateway A, and Socket.IO's Redis adapter
 * carries io-level room broadcasts between them.
 */
describe('two gateways (separate processes) sharing Socket.IO', () => {
  let fx: StackFixture;
  let gatewayB: StackInstance;

  beforeAll(async () => {
    // Slow steps so the subscriptions below see live progress, not only the replay.
    fx = await startStackFixture('gw-scale', { simulatorStepMs: 60 });
    gatewayB = await fx.stack.addInstance('gateway');
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('when a job is submitted through gateway A, then a client on gateway B receives its events live, in seq order, each once, as a client on A does', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'two gateways', steps: 30, seed: 7 });
    expect(res.status).toBe(202);
    const id = res.data.id as string;
    const onB = await recordJobEvents(gatewayB.url, id, fx.apiKey);
    const onA = await recordJobEvents(fx.stack.gatewayUrl, id, fx.apiKey);
    try {
      expect(onB.ack).toEqual({ ok: true, status: expect.any(String) });
      await onB.ended(60_000);
      await onA.ended(60_000);
      const seqs = onB.events.map((e) => e.payload.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(onB.events.every((e) => e.payload.jobId === id)).toBe(true);
      expect(onB.events[0].name).toBe('job:queued');
      expect(onB.events.filter((e) => e.name === 'job:completed')).toHaveLength(1);
      expect(onB.events.at(-1)!.name).toBe('job:completed');
      // Live progress crossed over from the orchestrator (the replay holds only the latest one).
      expect(onB.events.filter((e) => e.name === 'job:progress').length).toBeGreaterThan(1);
      // Both gateways saw the same story; the adapter added no copies.
      const stored = await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
      const terminalSeq = stored.at(-1)!.seq;
      expect(onB.events.at(-1)!.payload.seq).toBe(terminalSeq);
      expect(onA.events.at(-1)!.payload.seq).toBe(terminalSeq);
      for (const recorded of [onA, onB]) {
        const names = recorded.events.filter((e) => e.name !== 'job:progress').map((e) => `${e.payload.seq}:${e.name}`);
        expect(names).toEqual(stored.map((e) => `${e.seq}:${e.type}`));
      }
      console.log(`gateway scale-out: client on B got ${onB.events.length} events (${onB.events.filter((e) => e.name === 'job:progress').length} progress), client on A ${onA.events.length}, seq 1..${terminalSeq}`);
    } finally {
      onA.close();
      onB.close();
    }
  }, 90_000);

  it('when a client of gateway B is joined to a room and the room is broadcast to through the adapter, then it gets the message once, and both gateway processes answer fetchSockets', async () => {
    // This test process is a third Socket.IO node on the same Redis key (as a third gateway would be).
    const pub = new Redis(TEST_REDIS_URL);
    const sub = new Redis(TEST_REDIS_URL);
    const node = new Server({ adapter: createAdapter(pub, sub, { key: `${fx.queuePrefix}:socket.io` }) });
    const sockets: Socket[] = [];
    try {
      for (const url of [fx.stack.gatewayUrl, gatewayB.url]) {
        const socket = connect(url, { transports: ['websocket'], forceNew: true, auth: { token: fx.apiKey } });
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        sockets.push(socket);
      }
      const [onA, onB] = sockets;
      const got: Record<'a' | 'b', unknown[]> = { a: [], b: [] };
      onA.on('wall:notice', (m) => got.a.push(m));
      onB.on('wall:notice', (m) => got.b.push(m));

      const all = await node.fetchSockets();
      expect(all.map((s) => s.id).sort()).toEqual([onA.id, onB.id].sort());
      node.in(onB.id!).socketsJoin('wall');
      // A broadcast to the gateways: B joins its socket when the message arrives.
      await waitFor(async () => (await node.in('wall').fetchSockets()).length > 0, 'B\'s socket in the room', 10_000);
      expect((await node.in('wall').fetchSockets()).map((s) => s.id)).toEqual([onB.id]);
      node.to('wall').emit('wall:notice', { n: 1 });
      await waitFor(() => got.b.length > 0, 'the broadcast at B', 10_000);
      // Then a while for a second copy, or one at A, to show up if either were sent.
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toEqual({ a: [], b: [{ n: 1 }] });
    } finally {
      for (const socket of sockets) socket.close();
      // The node never listened (Server.close would wait on an engine it lacks): its adapter alone unsubscribes.
      await node.of('/').adapter.close();
      pub.disconnect();
      sub.disconnect();
    }
  }, 30_000);
});
