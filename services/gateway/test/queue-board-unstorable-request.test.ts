import axios from 'axios';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// bull-board's retry and add on generation-requests look up the generation a message names by its
// producer's (source, requestId). A message its worker refuses for those fields (a requestId holding
// a NUL, which PostgreSQL cannot even compare, or a source not of the form the schema takes) names
// no generation: it is bull-board's, not a 500 that ends a retry-all half-way.
let gw: TestGateway;
let redis: Redis;

beforeAll(async () => {
  gw = await startTestGateway('r34i-board-unstorable');
  redis = createRedis(TEST_REDIS_URL, 'worker');
});
afterAll(async () => {
  redis?.disconnect();
  await gw?.close();
});

const requests = () => gw.queues.byKey.generationRequests;
const board = (method: string, path: string, data?: unknown) =>
  axios.request({ method, url: `${gw.baseUrl}/admin/queues/api/queues/generation-requests${path}`, data, headers: gw.authHeaders, validateStatus: () => true });
const unstorable = { schemaVersion: 1, source: 'farm', requestId: 'shot\u00001', character: 'kai', prompt: 'x' };
const badSource = { schemaVersion: 1, source: 'farm\u0000', requestId: 'shot-2', character: 'kai', prompt: 'x' };

it('when an admin adds a request message whose requestId holds a NUL, then bull-board adds it (not a 500)', async () => {
  const added = await board('post', '/add', { name: 'resolveCharacter', data: unstorable, options: {} });
  // Before: 500 internal (PostgreSQL: invalid byte sequence for encoding "UTF8": 0x00).
  expect(added.status).toBe(200);
  await requests().remove(added.data.job.id);
});

it('when an admin retries all failed requests and one names an unstorable requestId or source, then each is retried as bull-board does (not a 500 half-way)', async () => {
  const jobs = [await requests().add('resolveCharacter', unstorable as never), await requests().add('resolveCharacter', badSource as never)];
  const worker = new Worker(requests().name, async () => {
    throw new UnrecoverableError('refused by the test');
  }, { connection: redis, prefix: gw.queuePrefix });
  try {
    await waitFor(async () => (await requests().getJobCounts('failed')).failed === 2, 'both to fail', 10_000);
  } finally {
    await worker.close();
  }
  const answer = await board('put', '/retry/failed');
  // Before: 500 internal, nothing retried.
  expect({ status: answer.status, body: answer.data }).toEqual({ status: 200, body: { retried: 2, skipped: 0, refused: {} } });
  for (const job of jobs) expect(await requests().getJobState(job.id!)).toBe('waiting');
  await requests().obliterate({ force: true });
});

it('when two admins retry all failed requests at once, then each job is retried once and neither answer is a 500 for a job the other moved first', async () => {
  const count = 120;
  for (let i = 0; i < count; i += 1) await requests().add('resolveCharacter', { ...unstorable, requestId: `race\u0000${i}` } as never);
  const worker = new Worker(requests().name, async () => {
    throw new UnrecoverableError('refused by the test');
  }, { connection: redis, prefix: gw.queuePrefix });
  try {
    await waitFor(async () => (await requests().getJobCounts('failed')).failed === count, 'every request to fail', 30_000);
  } finally {
    await worker.close();
  }
  const answers = await Promise.all([board('put', '/retry/failed'), board('put', '/retry/failed')]);
  // Before: BullMQ refused the retry of a job the other "retry all" had just moved ("not in the failed
  // state"), and that refusal left the loop as 500 internal.
  expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
  expect(answers[0].data.retried + answers[1].data.retried).toBe(count);
  expect((await requests().getJobCounts('waiting')).waiting).toBe(count);
  await requests().obliterate({ force: true });
}, 60_000);

it('when two admins retry all failed requests at once while a worker fails each retried job again at once, then neither answer is a 500', async () => {
  const count = 200;
  for (let i = 0; i < count; i += 1) await requests().add('resolveCharacter', { ...unstorable, requestId: `refail\u0000${i}` } as never);
  const worker = new Worker(requests().name, async () => {
    throw new UnrecoverableError('refused by the test');
  }, { connection: redis, prefix: gw.queuePrefix, concurrency: 50 });
  try {
    await waitFor(async () => (await requests().getJobCounts('failed')).failed === count, 'every request to fail', 30_000);
    const answers = await Promise.all([board('put', '/retry/failed'), board('put', '/retry/failed')]);
    // Before: a job the other "retry all" had moved was refused by BullMQ ("not in the failed state"),
    // and a look at its state afterwards found it failed again (the worker had run it meanwhile), so
    // the refusal was thrown and the answer was 500 internal.
    expect(answers.map((answer) => ({ status: answer.status, code: answer.data?.error?.code }))).toEqual([{ status: 200, code: undefined }, { status: 200, code: undefined }]);
    // Each job was retried at least once (one retried twice: failed again before the other got to it).
    expect(answers[0].data.retried + answers[1].data.retried).toBeGreaterThanOrEqual(count);
  } finally {
    await worker.close();
  }
  await requests().obliterate({ force: true });
}, 60_000);
