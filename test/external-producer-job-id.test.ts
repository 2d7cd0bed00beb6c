import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix } from '@anime/testing';
import { jobIdOf, submit } from '../examples/external-producer';

describe("the example producer's job ids (README: a repeated add is a no-op; no two requests share one)", () => {
  const prefix = uniqueQueuePrefix('producer-job-id');
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('generation-requests', { connection, prefix });
  afterAll(async () => {
    await queue.close();
    connection.disconnect();
    await removeQueueKeys(prefix);
  });

  const request = { character: 'kai-nakamura', prompt: 'on a rooftop' };

  it('when two sources whose names run into each other send requests, then each becomes its own queue job; the same pair again is a no-op', async () => {
    const ids = [await submit(queue, 'render', 'farm-1', request), await submit(queue, 'render-farm', '1', request)];
    expect(new Set(ids).size).toBe(2);
    expect(await submit(queue, 'render', 'farm-1', { ...request, prompt: 'sent again' })).toBe(ids[0]);
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => [j.data.source, j.data.requestId, j.data.prompt]).sort()).toEqual([
      ['render', 'farm-1', 'on a rooftop'],
      ['render-farm', '1', 'on a rooftop'],
    ]);
  });

  it('when a source or requestId holds ":" (the schema allows it), then the request is queued, not refused by BullMQ', async () => {
    for (const [source, requestId] of [['studio:render', 'r1'], ['studio', 'order:42'], ['a:b', 'c:d:e']]) {
      const id = await submit(queue, source, requestId, request);
      expect(id).toBe(jobIdOf(source, requestId));
      expect((await queue.getJob(id))?.data).toMatchObject({ source, requestId });
    }
  });
});
