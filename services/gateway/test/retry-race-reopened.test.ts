import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// Two retries of one failed generation at once, its owner's share one short of its cap: the first
// re-opens it (filling the share), and the second finds it active, which a retry answers 409
// not_retryable before any count, not 429 queue_full for the place the first one took. No
// orchestrator runs: a re-opened generation stays queued until the test fails it again.
const MAX_QUEUED_PER_KEY = 2;
const RACES = 60;

let gw: TestGateway;
let alpha: ReturnType<TestGateway['client']>;

beforeAll(async () => {
  gw = await startTestGateway('r34kretryrace', { limits: { MAX_QUEUED_PER_KEY, RATE_LIMIT_RPS: 1_000_000 } });
  alpha = gw.client(await gw.mintKey({ name: 'alpha', scopes: ['read', 'generate'] }));
  expect((await gw.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  await gw?.close();
});

describe('two retries of one failed generation racing', () => {
  it('when its owner’s share is one short of the cap, then one is 202 and the other 409 not_retryable, never 429 queue_full', async () => {
    // alpha: one queued (cap minus one), and the one retried.
    expect((await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'stays queued' })).status).toBe(202);
    const retried = await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'retried' });
    expect(retried.status).toBe(202);
    const id: string = retried.body.id;

    for (let race = 0; race < RACES; race++) {
      await gw.db.generationJob.update({ where: { id }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
      // The second starts a little later each race, so it meets the first at each of its steps: before
      // its early count, between that and its write, and after its write was committed.
      const later = new Promise((resolve) => setTimeout(resolve, (race % 40) / 2)).then(() => alpha.post(`/api/v1/generations/${id}/retry`));
      const both = await Promise.all([alpha.post(`/api/v1/generations/${id}/retry`), later]);
      const statuses = both.map((response) => response.status).sort((a, b) => a - b);
      expect({ race, statuses }).toEqual({ race, statuses: [202, 409] });
      expect(both.find((response) => response.status === 409)?.body.error).toMatchObject({ code: 'not_retryable', details: { status: 'queued' } });
      expect((await gw.db.generationJob.findUniqueOrThrow({ where: { id } })).status).toBe('queued');
    }
  }, 180_000);
});
