import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createRedis, JobControlPublisher, JobLifecycle } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import type { Redis } from 'ioredis';
import { CancelRequests } from '../src/jobs/cancel-requests';

/**
 * Redis pub/sub spans every database index of a server: a deployment on another index with the same
 * QUEUE_PREFIX publishes its cancels on this deployment's control channel. A message only says when
 * to look; the generation's row decides whether the render stops.
 */
describe('CancelRequests (a control message, real PostgreSQL and Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let publisher: Redis;
  let cancels: CancelRequests;
  const prefix = uniqueQueuePrefix('cancel-requests');

  beforeAll(async () => {
    database = await createTestDatabase('cancel-requests');
    db = createDb(database.url, { max: 2 });
    publisher = createRedis(TEST_REDIS_URL);
    // The column is not checked within the test: only the message can abort.
    cancels = new CancelRequests({ db, subscriber: createRedis(TEST_REDIS_URL, 'subscriber'), queuePrefix: prefix, log: createLogger('orchestrator', 'error'), checkEveryMs: 600_000 });
    await cancels.start();
  });

  afterAll(async () => {
    await cancels?.stop();
    publisher?.disconnect();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(prefix);
  });

  async function createdGeneration(): Promise<string> {
    const character = await db.character.create({ data: { slug: `kai-${Date.now()}`, name: 'Kai Nakamura', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai Nakamura' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'on a rooftop', steps: 2, width: 64, height: 64 });
    const conditioning = { positive: 'kainakamura', negative: '', loras: [], references: [], outfit: null };
    const { job } = await new JobLifecycle(db).create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    return job.id;
  }

  it("when a cancel message names a watched generation whose row records no cancel (another deployment's), then the render goes on; once the row records one, the message stops it", async () => {
    const id = await createdGeneration();
    const watch = cancels.watch(id);
    try {
      const control = new JobControlPublisher(publisher, prefix);
      await control.requestCancel(id);
      // A marker after it on the same channel: once heard, the cancel before it was handled too.
      const other = await createdGeneration();
      const marker = cancels.watch(other);
      await db.generationJob.update({ where: { id: other }, data: { cancelRequestedAt: new Date() } });
      await control.requestCancel(other);
      await waitFor(() => marker.signal.aborted, 'the marker cancel');
      marker.dispose();
      expect(watch.signal.aborted).toBe(false);

      await db.generationJob.update({ where: { id }, data: { cancelRequestedAt: new Date() } });
      await control.requestCancel(id);
      await waitFor(() => watch.signal.aborted, 'the recorded cancel');
    } finally {
      watch.dispose();
    }
  });
});
