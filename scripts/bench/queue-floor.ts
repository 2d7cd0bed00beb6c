import { Queue, Worker } from 'bullmq';
import { createDb, runStatement, type Db, type Statement } from '@anime/db';
import { createRedis } from '@anime/pipeline';
import { removeQueueKeys } from '@anime/testing';
import { ownCpuMs } from './process-memory';
import { deltaPer } from './stats';
import { storeProcesses, storesCpuMs } from './store-processes';

/** What carrying jobs through the queues and the database alone costs, in one process. */
export interface QueueFloor {
  jobs: number;
  jobsPerSecond: number;
  /** This process (process.cpuUsage), the processes of the PostgreSQL and Redis servers it uses (from /proc), per job. */
  processCpuMsPerJob: number;
  postgresCpuMsPerJob: number | null;
  redisCpuMsPerJob: number | null;
}

const HOPS = ['floor-requests', 'floor-renders', 'floor-filing'] as const;
/** Concurrency of each hop's worker: what the orchestrator holds for 4 backends (4 × (1 + prefetch 1)). */
const CONCURRENCY = 8;
const RETENTION = { removeOnComplete: { count: 1_000 }, removeOnFail: { count: 1_000 } };

const TABLE = 'bench_queue_floor';
const CREATE: Statement = { name: 'floor-create', text: `INSERT INTO ${TABLE} (request, stage) VALUES ($1::jsonb, 'queued') RETURNING id::text AS id` };
const MOVE: Statement = { name: 'floor-move', text: `UPDATE ${TABLE} SET stage = $2, "updatedAt" = now() WHERE id = $1::bigint RETURNING id::text AS id` };

/**
 * The limit the issue names: jobs carried by three BullMQ hops with four PostgreSQL statements each
 * (create, submitted, rendered, completed), in one process, on the same Redis and PostgreSQL as the
 * pipeline, with ids alone on the queues. No HTTP, no ComfyUI, no files, no events: what the
 * pipeline's durability costs at the least, before anything the services do for it.
 */
export async function queueFloor(options: { databaseUrl: string; redisUrl: string; prefix: string; count: number }): Promise<QueueFloor> {
  const db = createDb(options.databaseUrl, { max: CONCURRENCY });
  const connection = createRedis(options.redisUrl, 'worker');
  const prefix = `${options.prefix}-floor`;
  const queues = HOPS.map((name) => new Queue(name, { connection, prefix }));
  const workers: Worker[] = [];
  try {
    await db.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial PRIMARY KEY, request jsonb NOT NULL, stage text NOT NULL, "updatedAt" timestamptz NOT NULL DEFAULT now())`);
    let done = 0;
    let finish: () => void = () => undefined;
    let fail: (error: Error) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const hop = (index: number, work: (data: { id?: string; request?: unknown }) => Promise<string>) => {
      const worker = new Worker(
        HOPS[index],
        async (job) => {
          const id = await work(job.data);
          if (index + 1 < HOPS.length) await queues[index + 1].add('hop', { id }, RETENTION);
          else if (++done === options.count) finish();
        },
        { connection, prefix, concurrency: CONCURRENCY },
      );
      worker.on('failed', (_job, error) => fail(new Error(`the queue floor's ${HOPS[index]} hop failed: ${error.message}`)));
      return worker;
    };
    const move = async (id: string, stage: string) => (await runStatement<{ id: string }>(db, MOVE, [id, stage]))[0].id;
    workers.push(
      hop(0, async ({ request }) => (await runStatement<{ id: string }>(db, CREATE, [JSON.stringify(request)]))[0].id),
      hop(1, async ({ id }) => move(id!, 'submitted')),
      hop(2, async ({ id }) => {
        await move(id!, 'rendered');
        return move(id!, 'completed');
      }),
    );
    await Promise.all(workers.map((w) => w.waitUntilReady()));

    const stores = await storeProcesses(options.databaseUrl, options.redisUrl);
    const { postgres: postgresBefore, redis: redisBefore } = await storesCpuMs(stores);
    const cpuBefore = ownCpuMs();
    const started = performance.now();
    const requests = Array.from({ length: options.count }, (_, i) => ({ name: 'request', data: { request: { character: 'kai-nakamura', prompt: 'on a rooftop', seed: i } }, opts: RETENTION }));
    await queues[0].addBulk(requests);
    await finished;
    const wallMs = performance.now() - started;
    const cpuAfter = ownCpuMs();
    const { postgres: postgresAfter, redis: redisAfter } = await storesCpuMs(stores);
    return {
      jobs: options.count,
      jobsPerSecond: options.count / (wallMs / 1000),
      processCpuMsPerJob: (cpuAfter - cpuBefore) / options.count,
      postgresCpuMsPerJob: deltaPer(postgresBefore, postgresAfter, options.count),
      redisCpuMsPerJob: deltaPer(redisBefore, redisAfter, options.count),
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(queues.map((q) => q.close()));
    connection.disconnect();
    await removeQueueKeys(prefix, options.redisUrl);
    await db.$executeRawUnsafe(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => undefined);
    await db.$disconnect();
  }
}

/** Statements per job the floor runs: create, then one per stage it moves to. */
export const QUEUE_FLOOR_STATEMENTS_PER_JOB = 4;
export const QUEUE_FLOOR_HOPS = HOPS.length;
