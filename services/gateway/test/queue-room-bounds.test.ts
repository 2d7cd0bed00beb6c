import { QUEUE_ROOM_READING_MS } from '../src/domain/queue-room-bounds';
import { kaiDefinition } from './fixtures';
import type { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// No orchestrator runs here: every generation posted stays queued.
const MAX_QUEUE_DEPTH = 3;

let gateway: TestGateway;
let client: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('queue-room-bounds', { limits: { MAX_QUEUED_PER_KEY: 100, MAX_QUEUE_DEPTH } });
  const admin = gateway.client();
  client = gateway.client(await gateway.mintKey({ name: 'bounds', scopes: ['read', 'generate'] }));
  expect((await admin.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

const post = (n: number) => client.post('/api/v1/generations', { character: 'kai', prompt: `frame ${n}` });

/** Generations another process queued (another gateway replica, a queue producer): copies of a queued one. */
async function queuedElsewhere(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await gateway.db.$executeRaw`INSERT INTO generation_jobs (id, status, stage, source, request, project, episode, scene, "updatedAt")
      SELECT gen_random_uuid(), 'queued', stage, 'queue', request, project, episode, scene, now() FROM generation_jobs WHERE status = 'queued' LIMIT 1`;
  }
}

describe('the queue counts a gateway vouches for between readings (MAX_QUEUE_DEPTH)', () => {
  it('when its reading still has room, then a POST is admitted without counting, and what other processes queued meanwhile shows at the next reading, at most QUEUE_ROOM_READING_MS later', async () => {
    // The first POST reads the counts with its key (depth 0), and counts itself: the bound is 1.
    expect((await post(1)).status).toBe(202);
    await queuedElsewhere(4);
    expect(await gateway.db.generationJob.count({ where: { status: 'queued' } })).toBe(5);
    // Bound 1 < 3: admitted on this process's reading, which cannot see the other process's four.
    const started = Date.now();
    const admitted = await post(2);
    if (Date.now() - started < QUEUE_ROOM_READING_MS) expect(admitted.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, QUEUE_ROOM_READING_MS + 100));
    // The reading has aged: the counts are read again (6 waiting) and the queue is full.
    const refused = await post(3);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'queue_full', details: { scope: 'global', limit: MAX_QUEUE_DEPTH } });
  });

  it('when the bound says full, then the counts are read again at once, so room made since is seen without waiting', async () => {
    // Bound now: the reading above (6) — full. Make room behind the gateway's back.
    await gateway.db.generationJob.updateMany({ where: { status: 'queued' }, data: { status: 'canceled' } });
    expect((await post(4)).status).toBe(202);
    expect((await post(5)).status).toBe(202);
    expect((await post(6)).status).toBe(202);
    const refused = await post(7);
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ scope: 'global', limit: MAX_QUEUE_DEPTH });
    expect(await gateway.db.generationJob.count({ where: { status: 'queued' } })).toBe(MAX_QUEUE_DEPTH);
  });
});
