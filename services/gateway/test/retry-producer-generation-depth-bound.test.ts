import { QUEUE_ROOM_READING_MS } from '../src/domain/queue-room-bounds';
import type { jsonClient } from './http-client';
import { failedProducerGeneration, startProducerRetryGateway } from './producer-retry-gateway';
import type { TestGateway } from './start-test-gateway';

// The retry of a queue producer's generation is checked against MAX_QUEUE_DEPTH alone, by an exact
// count: the place it takes must reach the process's bounds (QueueRoomBounds), which vouch for the
// next admissions without counting. Else the generation added after it, within the bounds' reading,
// is admitted on a depth that leaves it out, and the queue holds more than MAX_QUEUE_DEPTH (a
// bull-board retry-all of such jobs passes it by as many). AUTH_MODE=off: every API caller is the
// one local caller. No orchestrator runs: every generation accepted stays queued.
const limits = { MAX_QUEUED_PER_KEY: 100, MAX_QUEUE_DEPTH: 2, RATE_LIMIT_RPS: 1_000_000 };

let gw: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  ({ gw, api } = await startProducerRetryGateway('r34iretrydepthbound', limits));
});
afterAll(async () => {
  await gw?.close();
});

it('when a producer’s generation is retried between two new generations, then the queue never holds more than MAX_QUEUE_DEPTH: the second is 429 queue_full (scope global)', async () => {
  const farmGeneration = await failedProducerGeneration(gw, api);
  // What the bounds read so far has aged: the next admission reads the counts again.
  await new Promise((resolve) => setTimeout(resolve, QUEUE_ROOM_READING_MS + 200));
  const queued = () => gw.db.generationJob.count({ where: { status: 'queued' } });

  expect((await api.post('/api/v1/generations', { character: 'kai', prompt: 'first' })).status).toBe(202);
  expect((await api.post(`/api/v1/generations/${farmGeneration}/retry`)).status).toBe(202);
  expect(await queued()).toBe(2);
  const over = await api.post('/api/v1/generations', { character: 'kai', prompt: 'over' });
  // Before: 202, admitted on the bounds' depth of 1 (the retry's place left out), 3 queued.
  expect(over.status).toBe(429);
  expect(over.body.error).toMatchObject({ code: 'queue_full', details: { scope: 'global' } });
  expect(await queued()).toBe(2);
}, 60_000);
