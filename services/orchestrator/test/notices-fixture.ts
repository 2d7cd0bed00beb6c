import { generationRequestBodySchema, type JobEventEnvelope } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger, type Logger } from '@anime/logger';
import { createRedis, JobEventPublisher, JobLifecycle } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix } from '@anime/testing';
import { listenToJobEvents, type PublishedEvent } from './job-events-listener';

const workflow = { '1': { class_type: 'SaveImage', inputs: {} } };
const conditioning = { positive: 'p', negative: 'n', loras: [], references: [], outfit: null };

export interface NoticesFixture {
  db: Db;
  lifecycle: JobLifecycle;
  events: JobEventPublisher;
  log: Logger;
  /** Every event published under the fixture's prefix, in order. */
  published: PublishedEvent[];
  /** A generation whose first attempt is recorded under `promptId` (the submit statement), as before its prompt is posted. */
  recordedAttempt(promptId: string): Promise<{ id: string; event: JobEventEnvelope<'job:submitted'> }>;
  close(): Promise<void>;
}

/** A database, a lifecycle and a publisher of their own, with one character: where a prompt's notices are recorded and published. */
export async function startNoticesFixture(label: string): Promise<NoticesFixture> {
  const database = await createTestDatabase(label);
  const db = createDb(database.url, { max: 3 });
  const lifecycle = new JobLifecycle(db);
  const prefix = uniqueQueuePrefix(label);
  const redis = createRedis(TEST_REDIS_URL);
  const listener = await listenToJobEvents(prefix);
  const events = new JobEventPublisher(redis, prefix);
  const character = await db.character.create({ data: { slug: 'kai', name: 'Kai', currentVersion: 1 } });
  const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
  const resolution = { characterId: character.id, characterVersionId: version.id, conditioning };
  return {
    db,
    lifecycle,
    events,
    log: createLogger('orchestrator', 'error'),
    published: listener.published,
    recordedAttempt: async (promptId) => {
      const { job } = await lifecycle.create({ body: generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' }), source: 'test', resolution });
      const event = (await lifecycle.submit(job.id, { backend: 'http://a', promptId, workflow })) as JobEventEnvelope<'job:submitted'>;
      return { id: job.id, event };
    },
    close: async () => {
      listener.close();
      redis.disconnect();
      await db.$disconnect();
      await database.drop();
      await removeQueueKeys(prefix);
    },
  };
}
