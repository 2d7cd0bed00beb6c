import { Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Priority } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createPipelineQueues, createRedis, type PipelineQueues } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/** The lock a killed orchestrator's worker took its jobs under, never renewed: lapsed well before the stall check runs. */
const DEAD_LOCK_MS = 100;

/** What a test does while every orchestrator is down, as the killed ones left the render queue. */
interface KilledOrchestrators {
  renders: Queue;
  /** A generation handed to generation-renders at `priority`; its id. */
  queued(prompt: string, priority: Priority): Promise<string>;
  /** The next job a killed orchestrator's worker took (it died holding it). */
  take(): Promise<Job | undefined>;
  /** Once their locks lapsed, BullMQ's own stall check, as the next worker to start runs it: it puts back the jobs they held. */
  stallCheck(): Promise<void>;
  /** The generation id of a render job. */
  generationOf(jobId: string): Promise<string | undefined>;
}

/**
 * Every orchestrator killed: the render jobs they held (active, their locks lapsing) are moved back
 * by BullMQ's stall check, which pushes them on the plain wait list whatever their priority (BullMQ
 * 6.7's moveStalledJobsToWait), and a worker takes that list before any prioritized job. So a batch
 * job one held came back ahead of every interactive job waiting, and took the free backend first.
 */
describe('a stalled batch render job and a waiting interactive one, after every orchestrator was killed (orchestrator in-process, simulator, Redis, PostgreSQL)', () => {
  let fx: OrchestratorFixture;
  let redis: Redis;

  beforeAll(async () => {
    // One place (BACKEND_PREFETCH 0): one job renders at a time, so the order is the order they start.
    fx = await startOrchestratorFixture('rvo-stalled-priority', { simulators: [{ stepMs: 50 }], env: { BACKEND_PREFETCH: '0' } });
    redis = createRedis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    await fx?.close();
    await redis?.quit();
  });

  /** Stops the orchestrator, runs `work` with a killed orchestrator's worker on its queue, and starts the orchestrator again. */
  async function whileEveryOrchestratorKilled(work: (killed: KilledOrchestrators) => Promise<void>): Promise<void> {
    const queuePrefix = fx.service.ctx.queuePrefix;
    await fx.restart(async () => {
      const queues: PipelineQueues = createPipelineQueues(redis, queuePrefix, {}, createLogger('rvo-stalled-test', 'error'));
      const renders = queues.byKey.generationRenders;
      const deadConnection = createRedis(TEST_REDIS_URL, 'worker');
      const dead = new Worker(renders.name, null, { connection: deadConnection, prefix: queuePrefix, lockDuration: DEAD_LOCK_MS, autorun: false });
      // The check itself, twice: the first marks the active jobs, the second moves those whose lock lapsed.
      // (Its throttle key cleared first: the stopped orchestrator's last check set it for 5 s.)
      const check = async () => {
        await redis.del(renders.toKey('stalled-check'));
        await (dead as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait();
      };
      try {
        await work({
          renders,
          queued: async (prompt, priority) => {
            const job = await fx.createdGeneration({ prompt, priority });
            await queues.enqueueStage(job);
            return job.id;
          },
          take: () => dead.getNextJob('dead-token'),
          stallCheck: async () => {
            await new Promise((resolve) => setTimeout(resolve, DEAD_LOCK_MS * 2));
            await check();
            await check();
          },
          generationOf: async (jobId) => (await renders.getJob(jobId))?.data.generationId,
        });
      } finally {
        await dead.close();
        await deadConnection.quit();
        await queues.close();
      }
    });
  }

  const submittedAt = async (jobId: string) => (await fx.db.jobAttempt.findFirst({ where: { jobId }, orderBy: { number: 'asc' } }))?.submittedAt ?? null;

  /** Once both were submitted to the backend: whether `first` was submitted before `second`. */
  async function expectSubmittedBefore(first: string, second: string): Promise<void> {
    const [firstAt, secondAt] = await waitFor(async () => {
      const both = await Promise.all([submittedAt(first), submittedAt(second)]);
      return both.every(Boolean) ? (both as Date[]) : null;
    }, 'both jobs to be submitted', 30_000);
    expect(firstAt.getTime()).toBeLessThan(secondAt.getTime());
  }

  it('when the stall check has put a batch job back while an interactive one waits, then the interactive one starts first', async () => {
    let batch = '';
    let interactive = '';
    await whileEveryOrchestratorKilled(async (killed) => {
      // A killed orchestrator's worker took the batch job and died.
      batch = await killed.queued('batch', 'batch');
      expect((await killed.take())?.data.generationId).toBe(batch);
      interactive = await killed.queued('interactive', 'interactive');
      await killed.stallCheck();
      expect(await killed.renders.getJobCounts('active', 'wait', 'prioritized')).toEqual({ active: 0, wait: 1, prioritized: 1 });
    });
    // Before: the batch job went first (it was on the wait list, taken before any prioritized job).
    await expectSubmittedBefore(interactive, batch);
  });

  it('when the stall check has put back both a batch job and an interactive one (both held by the killed orchestrators), then the interactive one starts first', async () => {
    let batch = '';
    let interactive = '';
    await whileEveryOrchestratorKilled(async (killed) => {
      batch = await killed.queued('batch held', 'batch');
      expect((await killed.take())?.data.generationId).toBe(batch);
      interactive = await killed.queued('interactive held', 'interactive');
      expect((await killed.take())?.data.generationId).toBe(interactive);
      await killed.stallCheck();
      expect(await killed.renders.getJobCounts('active', 'wait', 'prioritized')).toEqual({ active: 0, wait: 2, prioritized: 0 });
      // Both on the plain wait list, in the order of a Redis set's members (either may come first):
      // the batch one is put at the tail, where workers take from, as the stall check may leave it.
      const waitKey = killed.renders.toKey('wait');
      const ids = await redis.lrange(waitKey, 0, -1);
      const batchId = (await Promise.all(ids.map(async (id) => ((await killed.generationOf(id)) === batch ? id : null)))).find(Boolean)!;
      await redis.lrem(waitKey, 1, batchId);
      await redis.rpush(waitKey, batchId);
      expect(await killed.generationOf((await redis.lindex(waitKey, -1))!)).toBe(batch);
    });
    await expectSubmittedBefore(interactive, batch);
  });

  it('when the stall check has put back more than a hundred jobs, the interactive one past the hundredth from the head, then the batch job taken first still goes behind it', async () => {
    const batches: string[] = [];
    let interactive = '';
    await whileEveryOrchestratorKilled(async (killed) => {
      // The killed orchestrators held them all (jobs waiting for a backend that is down are held too, up to 1,000).
      for (let n = 0; n < 101; n++) batches.push(await killed.queued(`batch held ${n}`, 'batch'));
      interactive = await killed.queued('interactive held among many', 'interactive');
      for (let n = 0; n < 102; n++) expect(await killed.take()).toBeDefined();
      await killed.stallCheck();
      expect(await killed.renders.getJobCounts('active', 'wait', 'prioritized')).toEqual({ active: 0, wait: 102, prioritized: 0 });
      // The stall check pushes them on the list's tail (RPUSH), in a Redis set's order, and workers take
      // from the tail (RPOPLPUSH): here the interactive job sits 101st from the head, a batch job at the tail.
      const waitKey = killed.renders.toKey('wait');
      const ids = await redis.lrange(waitKey, 0, -1);
      const interactiveId = (await Promise.all(ids.map(async (id) => ((await killed.generationOf(id)) === interactive ? id : null)))).find(Boolean)!;
      const others = ids.filter((id) => id !== interactiveId);
      await redis.multi().del(waitKey).rpush(waitKey, ...others.slice(0, 100), interactiveId, ...others.slice(100)).exec();
      expect(await redis.lindex(waitKey, 100)).toBe(interactiveId);
    });

    const firstAttempt = await waitFor(
      async () => fx.db.jobAttempt.findFirst({ where: { jobId: { in: [interactive, ...batches] } }, orderBy: { submittedAt: 'asc' } }),
      'a held job to be submitted',
      30_000,
    );
    // Before: the batch job at the tail read only the list's first hundred (all batch) and went first.
    expect(firstAttempt.jobId).toBe(interactive);
  }, 90_000);
});
