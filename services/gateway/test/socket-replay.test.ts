import type { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import type { JobEventEnvelope } from '@anime/contracts';
import { createRedis, JobEventPublisher, progressEvent } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { holdStatement } from './pool-statements';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { LatestTicks } from '../src/socket/latest-ticks';

/**
 * The orchestrator publishes a job's progress ticks at once and stores the latest only now and then
 * (and the last with the outputs): a subscriber arriving in between still gets that tick in its
 * replay, in seq order, since the gateway keeps the latest tick it heard of each job.
 */
describe('the replay of a job story to a late subscriber (gateway in-process, PostgreSQL, Redis)', () => {
  let gateway: TestGateway;
  let redis: Redis;
  let events: JobEventPublisher;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway('socket-replay');
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
    redis = createRedis(TEST_REDIS_URL);
    events = new JobEventPublisher(redis, gateway.queuePrefix);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    redis?.disconnect();
    await gateway?.close();
  });

  async function follower(jobId: string): Promise<{ names: () => string[]; seqs: () => number[]; ack: unknown }> {
    const socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: gateway.apiKey } });
    sockets.push(socket);
    const seen: { name: string; seq: number }[] = [];
    socket.onAny((name: string, payload: { seq: number }) => seen.push({ name, seq: payload.seq }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const ack = await socket.timeout(5_000).emitWithAck('subscribe', { jobId });
    return { names: () => seen.map((e) => e.name), seqs: () => seen.map((e) => e.seq), ack };
  }

  it('when a tick was published and not stored before a client subscribes, then its replay holds that tick after the stored events, and nothing twice', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'on a rooftop' });
    expect(created.status).toBe(202);
    const jobId: string = created.body.id;
    // One follower from the start: once it has the tick, the gateway has heard it.
    const early = await follower(jobId);
    await waitFor(() => early.names().includes('job:queued'), 'the early follower to get job:queued');
    // Seqs past the stored job:queued (1), reserved as the orchestrator reserves them (its next event
    // is numbered after them); the ticks themselves are not stored.
    await gateway.db.$executeRaw`UPDATE generation_jobs SET "eventSeq" = 7 WHERE id = ${jobId}::uuid`;
    await events.publishAll([progressEvent(jobId, { value: 3, max: 8, node: '3' }, 6), progressEvent(jobId, { value: 4, max: 8, node: '3' }, 7)]);
    await waitFor(() => early.seqs().includes(7), 'the early follower to get the second tick');

    const late = await follower(jobId);
    expect(late.ack).toMatchObject({ ok: true, status: 'queued' });
    await waitFor(() => late.names().length >= 2, 'the late follower to get its replay');
    expect(late.names()).toEqual(['job:queued', 'job:progress']);
    expect(late.seqs()).toEqual([1, 7]);

    // The live story goes on for both, each event once.
    const canceled = await gateway.client().post(`/api/v1/generations/${jobId}/cancel`);
    expect(canceled.status).toBe(202);
    await waitFor(() => late.names().includes('job:canceled') && early.names().includes('job:canceled'), 'both followers to get job:canceled');
    expect(late.names()).toEqual(['job:queued', 'job:progress', 'job:canceled']);
    expect(early.names()).toEqual(['job:queued', 'job:progress', 'job:progress', 'job:canceled']);
  });

  it('when the stored tick is newer than the one the gateway heard (it missed the later ones), then the replay holds the stored tick alone, not the older one before it', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'in the rain' });
    expect(created.status).toBe(202);
    const jobId: string = created.body.id;
    const early = await follower(jobId);
    await waitFor(() => early.names().includes('job:queued'), 'the early follower to get job:queued');
    await gateway.db.$executeRaw`UPDATE generation_jobs SET "eventSeq" = 8 WHERE id = ${jobId}::uuid`;
    await events.publishAll([progressEvent(jobId, { value: 3, max: 8, node: '3' }, 6)]);
    await waitFor(() => early.seqs().includes(6), 'the early follower to get the tick');
    // A later tick, stored as PROGRESS_LATEST stores one, whose publication this gateway did not hear
    // (its Redis subscription dropped meanwhile): the tick it kept is the older one.
    await gateway.db.$executeRaw`UPDATE generation_jobs SET "progressSeq" = 8, "progressValue" = 5, "progressMax" = 8, "progressNode" = '3' WHERE id = ${jobId}::uuid`;

    const late = await follower(jobId);
    expect(late.ack).toMatchObject({ ok: true, status: 'queued' });
    await waitFor(() => late.seqs().includes(8), 'the late follower to get the stored tick');
    expect(late.names()).toEqual(['job:queued', 'job:progress']);
    expect(late.seqs()).toEqual([1, 8]);
  });

  /**
   * Subscribes a late follower whose story is read before `meanwhile` runs and handed back only once
   * the early follower (so the gateway) has heard `heard`; the statements the gateway ran meanwhile.
   */
  async function lateFollowerAround(jobId: string, early: Awaited<ReturnType<typeof follower>>, heard: string, meanwhile: () => Promise<void>) {
    const story = holdStatement(gateway.db, 'gateway-key-and-story', 'after-answer');
    try {
      const late = follower(jobId);
      await story.reached;
      await meanwhile();
      await waitFor(() => early.names().includes(heard), `the early follower to get ${heard}`);
      story.release();
      const answer = await late;
      return { ...answer, jobReads: story.sent().filter((name) => name?.startsWith('gateway-job')) };
    } finally {
      story.stop();
    }
  }

  it('when an event arrives while a subscriber’s story is being read, then it follows the replay, once, and the ack tells the status it left the job in without reading the job again', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'at dusk' });
    expect(created.status).toBe(202);
    const jobId: string = created.body.id;
    const early = await follower(jobId);
    await waitFor(() => early.names().includes('job:queued'), 'the early follower to get job:queued');
    const late = await lateFollowerAround(jobId, early, 'job:canceled', async () => {
      expect((await gateway.client().post(`/api/v1/generations/${jobId}/cancel`)).status).toBe(202);
    });
    expect(late.ack).toMatchObject({ ok: true, status: 'canceled' });
    await waitFor(() => late.names().includes('job:canceled'), 'the late follower to get job:canceled');
    expect(late.names()).toEqual(['job:queued', 'job:canceled']);
    expect(late.jobReads).toEqual([]);
  });

  it('when the event that arrives while a subscriber’s story is being read is a retry (which does not tell the status it re-opens at), then the ack reads the status again', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'at dawn' });
    expect(created.status).toBe(202);
    const jobId: string = created.body.id;
    expect((await gateway.client().post(`/api/v1/generations/${jobId}/cancel`)).status).toBe(202);
    const early = await follower(jobId);
    await waitFor(() => early.names().includes('job:canceled'), 'the early follower to get job:canceled');
    const late = await lateFollowerAround(jobId, early, 'job:retrying', async () => {
      expect((await gateway.client().post(`/api/v1/generations/${jobId}/retry`)).status).toBe(202);
    });
    expect(late.ack).toMatchObject({ ok: true, status: 'queued' });
    await waitFor(() => late.names().includes('job:retrying'), 'the late follower to get job:retrying');
    expect(late.names()).toEqual(['job:queued', 'job:canceled', 'job:retrying']);
    expect(late.jobReads).toEqual(['gateway-job-reach']);
  });

  it('when job:started and the ticks after it arrive while a subscriber’s story is being read, then the replay sends job:started before the latest tick the gateway heard, not dropped behind it', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'under the bridge' });
    expect(created.status).toBe(202);
    const jobId: string = created.body.id;
    const early = await follower(jobId);
    await waitFor(() => early.names().includes('job:queued'), 'the early follower to get job:queued');
    const late = await lateFollowerAround(jobId, early, 'job:progress', async () => {
      // As the orchestrator's STARTED does once the story was read: job:started stored (seq 2) with two
      // seqs reserved for ticks, then published, then the ticks published under the reserved seqs.
      await gateway.db.$executeRaw`UPDATE generation_jobs SET "eventSeq" = 4 WHERE id = ${jobId}::uuid`;
      const started = { name: 'job:started', seq: 2, payload: { jobId, seq: 2, backend: 'http://gpu-1:8188', attempt: 1 } } as unknown as JobEventEnvelope;
      await events.publishAll([started]);
      await events.publishAll([progressEvent(jobId, { value: 1, max: 2, node: '3' }, 3), progressEvent(jobId, { value: 2, max: 2, node: '3' }, 4)]);
      await waitFor(() => early.seqs().includes(4), 'the early follower to get the second tick');
    });
    await waitFor(() => late.seqs().includes(4), 'the late follower to get the latest tick');
    // Every event once, in seq order: job:started is not lost to the tick heard meanwhile.
    expect(late.names()).toEqual(['job:queued', 'job:started', 'job:progress', 'job:progress']);
    expect(late.seqs()).toEqual([1, 2, 3, 4]);
    expect(late.ack).toMatchObject({ ok: true, status: 'running' });
  });

  it('when a tick and then the terminal event arrive before a subscriber’s story is read, then the ack tells the terminal status the replay ended on, not the tick’s', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'by the sea' });
    expect(created.status).toBe(202);
    const jobId: string = created.body.id;
    const early = await follower(jobId);
    await waitFor(() => early.names().includes('job:queued'), 'the early follower to get job:queued');
    // The late subscriber is registered, and its story read only once both events were heard: the tick
    // (never stored) is pending alone, job:canceled is pending and in the story too.
    const story = holdStatement(gateway.db, 'gateway-key-and-story', 'before-sending');
    try {
      const late = follower(jobId);
      await story.reached;
      await gateway.db.$executeRaw`UPDATE generation_jobs SET "eventSeq" = 2 WHERE id = ${jobId}::uuid`;
      await events.publishAll([progressEvent(jobId, { value: 1, max: 8, node: '3' }, 2)]);
      await waitFor(() => early.seqs().includes(2), 'the early follower to get the tick');
      expect((await gateway.client().post(`/api/v1/generations/${jobId}/cancel`)).status).toBe(202);
      await waitFor(() => early.names().includes('job:canceled'), 'the early follower to get job:canceled');
      story.release();
      const answer = await late;
      await waitFor(() => answer.names().includes('job:canceled'), 'the late follower to get job:canceled');
      expect(answer.names()).toEqual(['job:queued', 'job:progress', 'job:canceled']);
      expect(answer.ack).toMatchObject({ ok: true, status: 'canceled' });
    } finally {
      story.stop();
    }
  });
});

describe('LatestTicks', () => {
  const tick = (jobId: string, seq: number): JobEventEnvelope => progressEvent(jobId, { value: seq, max: 100, node: '3' }, seq);
  const event = (name: 'job:completed' | 'job:started', jobId: string, seq: number) => ({ name, seq, payload: { jobId, seq } }) as unknown as JobEventEnvelope;

  it('when ticks of a job arrive out of order, then the latest by seq is kept; other events change nothing, and its terminal event forgets it', () => {
    const ticks = new LatestTicks();
    ticks.observe('a', tick('a', 5));
    ticks.observe('a', tick('a', 4));
    ticks.observe('a', event('job:started', 'a', 9));
    expect(ticks.latest('a')?.seq).toBe(5);
    ticks.observe('a', event('job:completed', 'a', 10));
    expect(ticks.latest('a')).toBeUndefined();
    expect(ticks.size).toBe(0);
  });

  it('when more jobs tick than it keeps, then the job that ticked least recently goes first', () => {
    const ticks = new LatestTicks(2);
    ticks.observe('a', tick('a', 1));
    ticks.observe('b', tick('b', 1));
    ticks.observe('a', tick('a', 2));
    ticks.observe('c', tick('c', 1));
    expect([ticks.latest('a')?.seq, ticks.latest('b'), ticks.latest('c')?.seq]).toEqual([2, undefined, 1]);
    expect(ticks.size).toBe(2);
  });
});
