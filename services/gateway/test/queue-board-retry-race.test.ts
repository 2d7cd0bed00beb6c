import axios from 'axios';
import { UnrecoverableError, Worker, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// bull-board's retry (and promote) of a job that moves between the look at its state and BullMQ's
// command (another admin's retry, a double click, or the pipeline), on the jobs retried with BullMQ's
// own retry: a producer's request naming no generation, a webhook delivery. BullMQ refuses the
// second command ("not in the failed state"); that refusal is a 4xx, never a 500, and the job is
// retried (promoted) once. No worker runs here: a retried job stays waiting.
const CLICKS = 12;

let gw: TestGateway;
let redis: Redis;

beforeAll(async () => {
  gw = await startTestGateway('board-retry-race', { limits: { RATE_LIMIT_RPS: 1_000_000 } });
  redis = createRedis(TEST_REDIS_URL, 'worker');
});
afterAll(async () => {
  redis?.disconnect();
  await gw?.close();
});
// Whatever a test left (a failed assertion leaves its jobs) is not the next one's.
afterEach(async () => {
  for (const queue of [gw.queues.byKey.generationRequests, gw.queues.byKey.webhookDeliveries]) await queue.obliterate({ force: true });
});

const board = (method: string, path: string) => axios.request({ method, url: `${gw.baseUrl}/admin/queues/api/queues${path}`, headers: gw.authHeaders, validateStatus: () => true });

/** `count` jobs added to `queue` and failed by a worker of the test's, which is then closed. */
async function failedJobs(queue: Queue, data: (i: number) => object, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) ids.push((await queue.add('test', data(i))).id!);
  const worker = new Worker(queue.name, async () => {
    throw new UnrecoverableError('refused by the test');
  }, { connection: redis, prefix: gw.queuePrefix, concurrency: 20 });
  try {
    await waitFor(async () => (await queue.getJobCounts('failed')).failed === count, `${count} ${queue.name} jobs to fail`, 30_000);
  } finally {
    await worker.close();
  }
  return ids;
}

/** What the concurrent answers were, counted by status and error code. */
function tally(answers: { status: number; data: { error?: { code?: string } } | undefined }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status, data } of answers) {
    const key = status === 204 ? '204' : `${status} ${data?.error?.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('when admins retry the same failed job at once (two operators, or a double click)', () => {
  it.each([
    ['generation-requests', () => gw.queues.byKey.generationRequests as Queue, (i: number) => ({ schemaVersion: 1, source: 'farm', requestId: `race-${i}`, character: 'kai', prompt: 'x' })],
    ['webhook-deliveries', () => gw.queues.byKey.webhookDeliveries as Queue, (i: number) => ({ schemaVersion: 1, endpointId: `race-${i}`, generationId: 'none', eventType: 'job:failed', seq: i + 1 })],
  ])('on %s, then one retry is 204, every other is a 4xx naming why, and the job is retried once', async (name, queueOf, data) => {
    const queue = queueOf();
    const [id] = await failedJobs(queue, data, 1);
    const answers = await Promise.all(Array.from({ length: CLICKS }, () => board('put', `/${name}/${id}/retry`)));
    // Before: those that found the job failed before another's retry moved it were 500 internal
    // (BullMQ: "Job … is not in the failed state. reprocessJob", thrown inside bull-board).
    const counts = tally(answers);
    expect(counts['204']).toBe(1);
    expect(Object.keys(counts).filter((key) => key !== '204' && !['409 job_state_changed', '400 job_not_retriable'].includes(key))).toEqual([]);
    const refused = answers.find((answer) => answer.status === 409);
    if (refused) expect(refused.data.error).toEqual({ code: 'job_state_changed', message: expect.stringContaining(`job ${id}`), details: { jobId: id, expected: 'failed' } });
    expect(await queue.getJobState(id)).toBe('waiting');
    expect(await queue.getJobCounts('waiting', 'failed')).toEqual({ waiting: 1, failed: 0 });
  });
});

it('when two admins retry all failed webhook deliveries at once, then both answer 200 and each job is retried once', async () => {
  const queue = gw.queues.byKey.webhookDeliveries as Queue;
  const count = 120;
  await failedJobs(queue, (i) => ({ schemaVersion: 1, endpointId: `all-${i}`, generationId: 'none', eventType: 'job:failed', seq: i + 1 }), count);
  const answers = await Promise.all([board('put', '/webhook-deliveries/retry/failed'), board('put', '/webhook-deliveries/retry/failed')]);
  // Before: bull-board's own "retry all" retried the jobs the other had moved, and BullMQ's refusal
  // was 500 internal, half-way.
  expect(answers.map((answer) => ({ status: answer.status, code: answer.data?.error?.code }))).toEqual([{ status: 200, code: undefined }, { status: 200, code: undefined }]);
  expect(answers[0].data.retried + answers[1].data.retried).toBe(count);
  expect(await queue.getJobCounts('waiting', 'failed')).toEqual({ waiting: count, failed: 0 });
}, 60_000);

it('when admins promote the same delayed job at once, then one promote is 204, every other a 409, and the job waits once', async () => {
  const queue = gw.queues.byKey.webhookDeliveries as Queue;
  const { id } = await queue.add('test', { schemaVersion: 1, endpointId: 'promote', generationId: 'none', eventType: 'job:failed', seq: 1 }, { delay: 60_000 });
  const answers = await Promise.all(Array.from({ length: CLICKS }, () => board('put', `/webhook-deliveries/${id}/promote`)));
  // Before: those that found the job delayed before another's promote moved it were 500 internal
  // (BullMQ: "Job … is not in the delayed state. promote", thrown inside bull-board).
  const counts = tally(answers);
  expect(counts['204']).toBe(1);
  expect(Object.keys(counts).filter((key) => key !== '204' && !['409 job_not_delayed', '409 job_state_changed'].includes(key))).toEqual([]);
  expect(await queue.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 0 });
});
