import axios from 'axios';
import { io, type Socket } from 'socket.io-client';
import { startTcpProxy, TEST_REDIS_URL, waitFor, type TcpProxy } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { aroundStatements } from './pool-statements';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
/** Between the gateway's job-event subscriber and Redis: a test cuts it to lose published events. */
let subscriberLink: TcpProxy;
const sockets: Socket[] = [];

beforeAll(async () => {
  const redis = new URL(TEST_REDIS_URL);
  subscriberLink = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  gateway = await startTestGateway('board-subscriptions', { subscriberRedisVia: (url) => subscriberLink.urlFor(url) });
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await gateway?.close();
  await subscriberLink?.close();
});

function connect(token: string): Promise<Socket> {
  const socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** A new job followed by a new connection, and what the connection hears of it as `seq:name`. */
async function followNewJob(prompt: string): Promise<{ socket: Socket; heard: string[]; jobId: string }> {
  const socket = await connect(gateway.apiKey);
  const heard: string[] = [];
  socket.onAny((name: string, payload: { jobId: string; seq: number }) => heard.push(`${payload.seq}:${name}`));
  const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt });
  expect(await socket.timeout(5_000).emitWithAck('subscribe', { jobId: created.body.id })).toEqual({ ok: true, status: 'queued' });
  return { socket, heard, jobId: created.body.id };
}

const board = (method: string, path: string) =>
  axios.request({ method, url: `${gateway.baseUrl}/admin/queues/api${path}`, headers: gateway.authHeaders, validateStatus: () => true });

describe('Socket.IO subscriptions', () => {
  it('when a client subscribes with the job id in upper case (as REST accepts it), then it hears the live events too, not only the replay', async () => {
    const socket = await connect(gateway.apiKey);
    const heard: { name: string; jobId: string; seq: number }[] = [];
    socket.onAny((name: string, payload: { jobId: string; seq: number }) => heard.push({ name, jobId: payload.jobId, seq: payload.seq }));
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'shouted id' });
    const upper = (created.body.id as string).toUpperCase();
    expect((await gateway.client().get(`/api/v1/generations/${upper}`)).status).toBe(200);

    expect(await socket.timeout(5_000).emitWithAck('subscribe', { jobId: upper })).toEqual({ ok: true, status: 'queued' });
    expect((await gateway.client().post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);
    await waitFor(() => heard.some((e) => e.name === 'job:canceled'), 'the live job:canceled', 5_000);
    // The same job in another case is the same subscription: nothing replayed twice (the replay comes before the ack).
    expect(await socket.timeout(5_000).emitWithAck('subscribe', { jobId: created.body.id })).toEqual({ ok: true, status: 'canceled' });
    expect(heard.map((e) => `${e.seq}:${e.name}:${e.jobId}`)).toEqual([`1:job:queued:${created.body.id}`, `2:job:canceled:${created.body.id}`]);
    expect(await socket.timeout(5_000).emitWithAck('unsubscribe', { jobId: upper })).toEqual({ ok: true });
    expect(gateway.gateway.followedJobs()).toBe(0);
  });
  it("when the gateway's Redis subscription drops while a followed job ends, then the subscriber still gets the terminal event once, after the link is back", async () => {
    const { socket, heard, jobId } = await followNewJob('through a blip');
    // The event is published while the gateway hears nothing: Redis pub/sub keeps no message for it.
    await subscriberLink.refuse();
    expect((await gateway.client().post(`/api/v1/generations/${jobId}/cancel`)).status).toBe(202);
    await subscriberLink.accept();
    await waitFor(() => heard.includes('2:job:canceled'), 'the job:canceled published during the drop', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard).toEqual(['1:job:queued', '2:job:canceled']);
    // The relay keeps hearing live events after the reconnection.
    const next = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'after the blip' });
    expect(await socket.timeout(5_000).emitWithAck('subscribe', { jobId: next.body.id })).toMatchObject({ ok: true });
    expect((await gateway.client().post(`/api/v1/generations/${next.body.id}/cancel`)).status).toBe(202);
    await waitFor(() => heard.includes('2:job:canceled') && heard.filter((e) => e === '2:job:canceled').length === 2, 'the live job:canceled of the next job', 5_000);
  }, 30_000);

  it("when PostgreSQL is still away as the gateway's Redis subscription comes back (its catch-up fails), then the terminal event a followed job published during the drop still reaches the subscriber once PostgreSQL answers", async () => {
    const { heard, jobId } = await followNewJob('through a longer blip');
    await subscriberLink.refuse();
    expect((await gateway.client().post(`/api/v1/generations/${jobId}/cancel`)).status).toBe(202);
    // The catch-up's reads of a job's story fail while PostgreSQL is "away".
    let away = true;
    let refused = 0;
    const spy = aroundStatements(gateway.db, async (name, send) => {
      if (name === 'gateway-job-story' && away) {
        refused += 1;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      }
      return send();
    });
    try {
      await subscriberLink.accept();
      await waitFor(() => refused > 0, 'the catch-up to meet PostgreSQL away', 10_000);
      away = false;
      await waitFor(() => heard.includes('2:job:canceled'), 'the job:canceled published during the drop', 10_000);
    } finally {
      spy.mockRestore();
    }
    expect(heard).toEqual(['1:job:queued', '2:job:canceled']);
  }, 30_000);

  it("when a followed job's next event arrives live while the catch-up after a drop is still reading other jobs' stories, then what the job missed during the drop still goes out first, in seq order", async () => {
    const socket = await connect(gateway.apiKey);
    const heard: string[] = [];
    socket.onAny((name: string, payload: { jobId: string; seq: number }) => heard.push(`${payload.jobId}:${payload.seq}:${name}`));
    // Two followed jobs: the catch-up reads `first`'s story before `later`'s.
    const first = (await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'read first' })).body.id as string;
    const later = (await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'read later' })).body.id as string;
    for (const jobId of [first, later]) expect(await socket.timeout(5_000).emitWithAck('subscribe', { jobId })).toEqual({ ok: true, status: 'queued' });
    // Missed: published while the gateway hears nothing.
    await subscriberLink.refuse();
    expect((await gateway.client().post(`/api/v1/generations/${later}/cancel`)).status).toBe(202);
    // The link comes back; while the catch-up reads its first story, `later` is retried: its job:retrying is heard live.
    let retried = false;
    const spy = aroundStatements(gateway.db, async (name, send) => {
      if (name === 'gateway-job-story' && !retried) {
        retried = true;
        expect((await gateway.client().post(`/api/v1/generations/${later}/retry`)).status).toBe(202);
        // Long enough for the live job:retrying to reach the relay.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      return send();
    });
    try {
      await subscriberLink.accept();
      await waitFor(() => heard.includes(`${later}:3:job:retrying`), 'the live job:retrying', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      spy.mockRestore();
    }
    expect(retried).toBe(true);
    expect(heard.filter((e) => e.startsWith(later))).toEqual([`${later}:1:job:queued`, `${later}:2:job:canceled`, `${later}:3:job:retrying`]);
  }, 30_000);
});

describe('bull-board', () => {
  it('when an admin promotes a job that is not delayed (the board raced its state), then the answer is 409 naming its state, not a 500, and the job is untouched', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'not delayed' });
    const jobId = `render-${created.body.id}`;
    const before = await board('get', `/queues/generation-renders/${jobId}`);
    expect(before.status).toBe(200);
    const promoted = await board('put', `/queues/generation-renders/${jobId}/promote`);
    expect(promoted.status).toBe(409);
    expect(promoted.data).toEqual({ error: { code: 'job_not_delayed', message: expect.stringContaining(before.data.status), details: { state: before.data.status } } });
    expect((await board('get', `/queues/generation-renders/${jobId}`)).data.status).toBe(before.data.status);
    expect((await board('put', `/queues/generation-renders/render-00000000-0000-4000-8000-000000000000/promote`)).status).toBe(404);
    // A delayed job is still promoted by bull-board itself.
    await gateway.queues.byKey.generationRenders.add('renderPrompt', { schemaVersion: 1, generationId: created.body.id }, { jobId: 'delayed-one', delay: 60_000 });
    expect((await board('get', '/queues/generation-renders/delayed-one')).data.status).toBe('delayed');
    expect((await board('put', '/queues/generation-renders/delayed-one/promote')).status).toBe(204);
    expect((await board('get', '/queues/generation-renders/delayed-one')).data.status).toBe('waiting');
  });

  it("when bull-board's own API refuses (an unknown queue or job), then the answer is the error envelope with a snake_case code, bull-board's translation key kept for its page", async () => {
    for (const [method, path, code] of [
      ['put', '/queues/no-such-queue/pause', 'queue_not_found'],
      ['get', '/queues/generation-renders/no-such-job', 'job_not_found'],
      ['put', '/queues/generation-renders/no-such-job/promote', 'job_not_found'],
    ] as const) {
      const refused = await board(method, path);
      expect({ path, status: refused.status, body: refused.data }).toEqual({
        path,
        status: 404,
        body: { error: { code, message: expect.any(String), key: `ERRORS.${code.toUpperCase()}` } },
      });
    }
    // Successes are untouched.
    const listed = await board('get', '/queues');
    expect(listed.status).toBe(200);
    expect(listed.data).toHaveProperty('queues');
  });
});
