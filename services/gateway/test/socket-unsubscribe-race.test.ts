import { io, type Socket } from 'socket.io-client';
import { startTcpProxy, TEST_POSTGRES, type TcpProxy } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

/**
 * A subscribe reads the job's story from PostgreSQL before it replays it; an unsubscribe (or a second
 * subscribe) of the same connection can be handled meanwhile. The client's messages take effect in
 * the order sent: after the unsubscribe's ack nothing of that job reaches it, and a subscribe after
 * it gets the story once.
 */
describe('an unsubscribe while the subscribe is still reading the story (gateway in-process, PostgreSQL behind a proxy)', () => {
  let gateway: TestGateway;
  /** Between the gateway and PostgreSQL: held, the subscribe's read waits while the unsubscribe is handled. */
  let databaseLink: TcpProxy;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    databaseLink = await startTcpProxy(TEST_POSTGRES);
    gateway = await startTestGateway('socket-unsubscribe-race', { connectVia: (url) => databaseLink.urlFor(url) });
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    databaseLink?.heal();
    await gateway?.close();
    await databaseLink?.close();
  });

  async function connect(): Promise<{ socket: Socket; heard: string[] }> {
    const socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: gateway.apiKey } });
    sockets.push(socket);
    const heard: string[] = [];
    socket.onAny((name: string, payload: { seq: number }) => heard.push(`${payload.seq}:${name}`));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return { socket, heard };
  }

  async function queuedJob(prompt: string): Promise<string> {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt });
    expect(created.status).toBe(202);
    return created.body.id;
  }

  it('when a client unsubscribes before its subscribe was answered, then nothing of the job reaches it after the unsubscribe ack, not even the replay', async () => {
    const jobId = await queuedJob('gone before the replay');
    const { socket, heard } = await connect();
    databaseLink.blackHole();
    const subscribed = socket.timeout(10_000).emitWithAck('subscribe', { jobId });
    expect(await socket.timeout(5_000).emitWithAck('unsubscribe', { jobId })).toEqual({ ok: true });
    const heardAtUnsubscribe = heard.length;
    databaseLink.heal();
    expect(await subscribed).toMatchObject({ ok: true });
    expect((await gateway.client().post(`/api/v1/generations/${jobId}/cancel`)).status).toBe(202);
    // The cancel's event has been published by now; a live one would arrive within this pause.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heardAtUnsubscribe).toBe(0);
    expect(heard).toEqual([]);
    expect(gateway.gateway.followedJobs()).toBe(0);
  });

  it('when a client subscribes, unsubscribes and subscribes again before the first answer, then it gets the story once, live events included', async () => {
    const jobId = await queuedJob('twice in a row');
    const { socket, heard } = await connect();
    databaseLink.blackHole();
    const first = socket.timeout(10_000).emitWithAck('subscribe', { jobId });
    const unsubscribed = socket.timeout(10_000).emitWithAck('unsubscribe', { jobId });
    const second = socket.timeout(10_000).emitWithAck('subscribe', { jobId });
    expect(await unsubscribed).toEqual({ ok: true });
    databaseLink.heal();
    expect(await first).toMatchObject({ ok: true });
    expect(await second).toEqual({ ok: true, status: 'queued' });
    expect((await gateway.client().post(`/api/v1/generations/${jobId}/cancel`)).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard).toEqual(['1:job:queued', '2:job:canceled']);
    expect(await socket.timeout(5_000).emitWithAck('unsubscribe', { jobId })).toEqual({ ok: true });
    expect(gateway.gateway.followedJobs()).toBe(0);
  });
});
