import { Queue, Worker } from 'bullmq';
import { removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor } from '@anime/testing';
import { createRedis } from './redis';
import { setConcurrency } from './worker-concurrency';

const redis = createRedis(TEST_REDIS_URL, 'worker');

describe('setConcurrency', () => {
  const prefix = uniqueQueuePrefix('worker-concurrency');
  let queue: Queue;
  let worker: Worker | undefined;
  let name = 0;

  // A queue of its own per case: a job one case leaves held is not taken by the next.
  beforeEach(() => {
    queue = new Queue(`renders-${++name}`, { connection: redis, prefix });
  });

  afterEach(async () => {
    await worker?.close(true);
    await queue.close();
  });

  afterAll(async () => {
    await removeQueueKeys(prefix);
    redis.disconnect();
  });

  it('when the concurrency is raised while the worker holds as many jobs as it may, then it takes the next job at once, not when a held one ends', async () => {
    const started: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    worker = new Worker(
      queue.name,
      async (job) => {
        started.push(job.name);
        if (job.name === 'first') await held;
      },
      { connection: redis, prefix, concurrency: 1 },
    );
    await queue.add('first', {});
    await waitFor(() => started.includes('first'), 'the first job to start', 5_000);
    await queue.add('second', {});
    // Long enough for a worker allowed two jobs to take it: one is not.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(started).toEqual(['first']);

    setConcurrency(worker, 2);
    await waitFor(() => started.includes('second'), 'the second job to start', 2_000);
    expect(started).toEqual(['first', 'second']);
    release();
  });

  it('when the concurrency is lowered, then it takes no new job until enough have ended', async () => {
    const started: string[] = [];
    const releases: (() => void)[] = [];
    worker = new Worker(
      queue.name,
      async (job) => {
        started.push(job.name);
        await new Promise<void>((resolve) => releases.push(resolve));
      },
      { connection: redis, prefix, concurrency: 2 },
    );
    await queue.add('a', {});
    await queue.add('b', {});
    await waitFor(() => started.length === 2, 'two jobs to start', 5_000);
    setConcurrency(worker, 1);
    await queue.add('c', {});
    releases[0]();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(started).toEqual(['a', 'b']);
    releases[1]();
    await waitFor(() => started.includes('c'), 'the third job to start', 5_000);
    releases[2]?.();
  });
});
