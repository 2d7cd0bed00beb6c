import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { characterConfigSchema } from '@anime/config';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createRedis, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { startCharacterService } from '../src/start';

/** A character registered at version 1: its slug, name and one trigger word. */
export type StageCharacter = [slug: string, name: string, triggerWord: string];

export interface RequestStage {
  database: TestDatabase;
  db: Db;
  service: RunningService;
  /** The generation-requests queue, as a producer adds to it. */
  requests: Queue;
  /** The connection `requests` uses, for reading or writing the queue's keys straight. */
  redis: Redis;
  queuePrefix: string;
  /** Stops the service and the queue, and removes the database and the queue's keys. */
  stop(): Promise<void>;
}

/**
 * The request stage as a producer meets it: the character service in-process over a database and
 * queue prefix of its own (named after `label`), `characters` registered.
 */
export async function startRequestStage(label: string, characters: StageCharacter[]): Promise<RequestStage> {
  const redis = createRedis(TEST_REDIS_URL);
  const queuePrefix = uniqueQueuePrefix(label);
  const database = await createTestDatabase(label);
  const db = createDb(database.url, { max: 3 });
  for (const [slug, name, trigger] of characters) {
    const character = await db.character.create({ data: { slug, name, currentVersion: 1 } });
    await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: name, triggerWords: [trigger] } } });
  }
  const config = characterConfigSchema.parse({ DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, CHARACTER_PORT: '0' });
  const service = await startCharacterService(config, createLogger('character', 'error'));
  const requests = new Queue(PIPELINE_CATALOG.generationRequests.name, { connection: redis, prefix: queuePrefix });
  const stop = async () => {
    await service.stop();
    await requests.close();
    redis.disconnect();
    await db.$disconnect();
    await database.drop();
    await removeQueueKeys(queuePrefix);
  };
  return { database, db, service, requests, redis, queuePrefix, stop };
}
