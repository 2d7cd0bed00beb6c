import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { REPO_ROOT } from '@anime/stack';
import { TEST_REDIS_URL } from '@anime/testing';
import { follow, submit, waitForRefusal, type StreamEvent } from '../../examples/external-producer';
import { startStackFixture, type StackFixture } from './stack-fixture';

const run = promisify(execFile);

jest.setTimeout(120_000);

describe('an external producer on plain bullmq, following its jobs on the generation-events stream', () => {
  let fx: StackFixture;
  let connection: Redis;
  let reader: Redis;
  let queue: Queue;
  let queueEvents: QueueEvents;
  let eventsConnection: Redis;
  const source = 'render-farm-scheduler';

  beforeAll(async () => {
    fx = await startStackFixture('external-producer', { simulatorStepMs: 10 });
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    reader = new Redis(TEST_REDIS_URL);
    queue = new Queue('generation-requests', { connection, prefix: fx.queuePrefix });
    eventsConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    queueEvents = new QueueEvents('generation-requests', { connection: eventsConnection, prefix: fx.queuePrefix });
    await queueEvents.waitUntilReady();
  });

  afterAll(async () => {
    await queueEvents?.close();
    eventsConnection?.disconnect();
    await queue?.close();
    connection?.disconnect();
    reader?.disconnect();
    await fx?.close();
  });

  it('when valid jobs are produced, then the stream carries each one’s lifecycle in seq order with source and requestId, ending completed with its assets', async () => {
    const requestIds = [randomUUID(), randomUUID()];
    for (const requestId of requestIds) await submit(queue, source, requestId, { character: 'kai-nakamura', prompt: `producer ${requestId}`, width: 64, height: 64, steps: 2 });
    // The same request again (a producer retrying after a crash) is the same generation.
    await submit(queue, source, requestIds[0], { character: 'kai-nakamura', prompt: 'ignored: the stored request decides', width: 64, height: 64 });
    const seen: StreamEvent[] = [];
    const ends = await follow(reader, fx.queuePrefix, source, new Set(requestIds), { onEvent: (e) => seen.push(e) });
    for (const requestId of requestIds) {
      const end = ends.get(requestId)!;
      expect(end).toMatchObject({ event: 'job:completed', source, requestId });
      expect(end.data.assets).toHaveLength(1);
      expect(end.data.assets[0]).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), path: expect.any(String) });
      const story = seen.filter((e) => e.requestId === requestId);
      expect(story.map((e) => e.event)).toEqual(['job:queued', 'job:submitted', 'job:started', 'job:completed']);
      expect(story.map((e) => e.seq)).toEqual([...story.map((e) => e.seq)].sort((a, b) => a - b));
      expect(new Set(story.map((e) => e.generationId)).size).toBe(1);
      const rest = await fx.api.get(`/api/v1/generations?source=${source}&requestId=${requestId}`);
      expect(rest.data.items.map((g: { id: string }) => g.id)).toEqual([end.generationId]);
    }
    // Progress ticks stay on Socket.IO: the stream holds lifecycle events only.
    expect(seen.some((e) => e.event === 'job:progress')).toBe(false);
  });

  it('when a job is invalid, then it fails at once with the validation message, unretried, and the worker goes on with the next', async () => {
    const bad = await queue.add('resolveCharacter', { schemaVersion: 1, source, requestId: randomUUID(), character: 'kai-nakamura', prompt: '', width: 65 }, { attempts: 5 });
    const reason = await waitForRefusal(queueEvents, bad.id!);
    expect(reason).toMatch(/prompt/);
    expect(reason).toMatch(/width/);
    const failed = await queue.getJob(bad.id!);
    expect(failed!.attemptsMade).toBe(1);
    const next = randomUUID();
    await submit(queue, source, next, { character: 'kai-nakamura', prompt: 'after the bad one', width: 64, height: 64, steps: 1 });
    expect((await follow(reader, fx.queuePrefix, source, new Set([next]))).get(next)).toMatchObject({ event: 'job:completed' });
  });

  it('when the example is run as a program, then it submits, follows the stream and prints where the file was filed', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'examples/external-producer.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: fx.queuePrefix },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^submitted example-producer\//m);
    expect(stdout).toMatch(/^job:completed seq \d+$/m);
    expect(stdout).toMatch(/^filed \S+ \(sha256 [0-9a-f]{64}\)$/m);
  });
});
