import { generationEventsStream, PIPELINE_CATALOG, QUEUE_KEYS } from '@anime/contracts';
import { createDb } from '@anime/db';
import { createRedis, jobOptionsFor, queueSettingsFrom } from '@anime/pipeline';

const MiB = 2 ** 20;

export interface RedisMemory {
  /** INFO memory used_memory of the whole server (shared with whatever else uses it), MiB. */
  usedMiB: number;
  /** MEMORY USAGE summed over the bench's own queue keys (the generation-events stream aside), MiB. */
  prefixMiB: number;
  /**
   * MEMORY USAGE of the generation-events stream: the outcome history producers replay, kept on
   * purpose and bounded by GENERATION_EVENTS_MAXLEN (about 100,000 entries), not finished queue jobs.
   */
  eventsStreamMiB: number;
  /** Finished jobs BullMQ still holds, per queue: completed + failed. */
  finished: Record<string, number>;
}

/** How much Redis holds, for the whole server and for this stack's queue prefix. */
export async function redisMemory(redisUrl: string, prefix: string): Promise<RedisMemory> {
  const redis = createRedis(redisUrl);
  try {
    const info = await redis.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    let bytes = 0;
    const streamKey = generationEventsStream(prefix);
    const streamBytes = Number((await redis.memory('USAGE', streamKey)) ?? 0);
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) {
        const sizes = await Promise.all(keys.filter((k) => k !== streamKey).map((k) => redis.memory('USAGE', k) as Promise<number | null>));
        bytes += sizes.reduce<number>((a, b) => a + (b ?? 0), 0);
      }
    } while (cursor !== '0');
    const finished: Record<string, number> = {};
    for (const key of QUEUE_KEYS) {
      const name = PIPELINE_CATALOG[key].name;
      finished[name] = (await redis.zcard(`${prefix}:${name}:completed`)) + (await redis.zcard(`${prefix}:${name}:failed`));
    }
    return { usedMiB: used / MiB, prefixMiB: bytes / MiB, eventsStreamMiB: streamBytes / MiB, finished };
  } finally {
    redis.disconnect();
  }
}

export interface Retention {
  completeAgeS: number | undefined;
  completeCount: number | undefined;
  failAgeS: number | undefined;
  failCount: number | undefined;
}

type KeepJobs = boolean | number | { age?: number; count?: number } | undefined;
const bounds = (keep: KeepJobs) => {
  if (keep === true) return { age: 0, count: 0 };
  if (keep === false || keep === undefined) return { age: undefined, count: undefined };
  if (typeof keep === 'number') return { age: undefined, count: keep };
  return { age: keep.age, count: keep.count };
};

/**
 * The retention of finished jobs the pipeline's producers set (packages/pipeline/src/queues.ts), per
 * queue, under the stack's QUEUE_KEEP_COMPLETED_S / QUEUE_KEEP_FAILED_S (`env`).
 */
export function queueRetention(env: NodeJS.ProcessEnv = {}): Record<string, Retention> {
  const settings = queueSettingsFrom({
    JOB_MAX_ATTEMPTS: 3,
    QUEUE_KEEP_COMPLETED_S: env.QUEUE_KEEP_COMPLETED_S ? Number(env.QUEUE_KEEP_COMPLETED_S) : undefined,
    QUEUE_KEEP_FAILED_S: env.QUEUE_KEEP_FAILED_S ? Number(env.QUEUE_KEEP_FAILED_S) : undefined,
  });
  return Object.fromEntries(
    QUEUE_KEYS.map((key) => {
      const options = jobOptionsFor(key, settings);
      const complete = bounds(options.removeOnComplete as KeepJobs);
      const fail = bounds(options.removeOnFail as KeepJobs);
      return [PIPELINE_CATALOG[key].name, { completeAgeS: complete.age, completeCount: complete.count, failAgeS: fail.age, failCount: fail.count }];
    }),
  );
}

/** Rows in each table of the scratch database (Prisma's migration table left out). */
export async function tableRows(databaseUrl: string): Promise<Record<string, number>> {
  const db = createDb(databaseUrl, { max: 1 });
  try {
    const tables = await db.$queryRawUnsafe<{ name: string }[]>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> '_prisma_migrations' ORDER BY tablename`);
    const rows: Record<string, number> = {};
    for (const { name } of tables) {
      const [{ n }] = await db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`);
      rows[name] = Number(n);
    }
    return rows;
  } finally {
    await db.$disconnect();
  }
}
