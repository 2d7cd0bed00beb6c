import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger } from '@anime/logger';
import { createPipelineQueues, createRedis, type PipelineQueues } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

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

  it('when the stall check has put a batch job back while an interactive one waits, then the interactive one starts first', async () => {
    const queuePrefix = fx.service.ctx.queuePrefix;
    let batch = '';
    let interactive = '';
    await fx.restart(async () => {
      const queues: PipelineQueues = createPipelineQueues(redis, queuePrefix, {}, createLogger('rvo-stalled-test', 'error'));
      const renders = queues.byKey.generationRenders;
      // A killed orchestrator's worker: it took the batch job (its lock short, never renewed) and died.
      const deadConnection = createRedis(TEST_REDIS_URL, 'worker');
      const dead = new Worker(renders.name, null, { connection: deadConnection, prefix: queuePrefix, lockDuration: 200, autorun: false });
      try {
        const batchJob = await fx.createdGeneration({ prompt: 'batch', priority: 'batch' });
        batch = batchJob.id;
        await queues.enqueueStage(batchJob);
        const taken = await dead.getNextJob('dead-token');
        expect(taken?.data.generationId).toBe(batch);
        const interactiveJob = await fx.createdGeneration({ prompt: 'interactive', priority: 'interactive' });
        interactive = interactiveJob.id;
        await queues.enqueueStage(interactiveJob);
        await new Promise((resolve) => setTimeout(resolve, 400));
        // BullMQ's own stall check, twice (the first marks the active jobs, the second moves those whose lock lapsed), as the next worker to start runs it.
        // (Its throttle key cleared first: the stopped orchestrator's last check set it for 5 s.)
        const check = async () => {
          await redis.del(renders.toKey('stalled-check'));
          await (dead as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait();
        };
        await check();
        await check();
        expect(await renders.getJobCounts('active', 'wait', 'prioritized')).toEqual({ active: 0, wait: 1, prioritized: 1 });
      } finally {
        await dead.close();
        await deadConnection.quit();
        await queues.close();
      }
    });

    const submittedAt = async (jobId: string) => (await fx.db.jobAttempt.findFirst({ where: { jobId }, orderBy: { number: 'asc' } }))?.submittedAt ?? null;
    const [first, second] = await waitFor(async () => {
      const both = await Promise.all([submittedAt(interactive), submittedAt(batch)]);
      return both.every(Boolean) ? (both as Date[]) : null;
    }, 'both jobs to be submitted', 30_000);
    // Before: the batch job went first (it was on the wait list, taken before any prioritized job).
    expect(first.getTime()).toBeLessThan(second.getTime());
  }, 60_000);

  it('when the stall check has put back both a batch job and an interactive one (both held by the killed orchestrators), then the interactive one starts first', async () => {
    const queuePrefix = fx.service.ctx.queuePrefix;
    let batch = '';
    let interactive = '';
    await fx.restart(async () => {
      const queues: PipelineQueues = createPipelineQueues(redis, queuePrefix, {}, createLogger('rvo-stalled-test', 'error'));
      const renders = queues.byKey.generationRenders;
      const deadConnection = createRedis(TEST_REDIS_URL, 'worker');
      const dead = new Worker(renders.name, null, { connection: deadConnection, prefix: queuePrefix, lockDuration: 200, autorun: false });
      try {
        const batchJob = await fx.createdGeneration({ prompt: 'batch held', priority: 'batch' });
        batch = batchJob.id;
        await queues.enqueueStage(batchJob);
        expect((await dead.getNextJob('dead-token'))?.data.generationId).toBe(batch);
        const interactiveJob = await fx.createdGeneration({ prompt: 'interactive held', priority: 'interactive' });
        interactive = interactiveJob.id;
        await queues.enqueueStage(interactiveJob);
        expect((await dead.getNextJob('dead-token'))?.data.generationId).toBe(interactive);
        await new Promise((resolve) => setTimeout(resolve, 400));
        const check = async () => {
          await redis.del(renders.toKey('stalled-check'));
          await (dead as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait();
        };
        await check();
        await check();
        expect(await renders.getJobCounts('active', 'wait', 'prioritized')).toEqual({ active: 0, wait: 2, prioritized: 0 });
        // Both on the plain wait list, in the order of a Redis set's members (either may come first):
        // the batch one is put at the tail, where workers take from, as the stall check may leave it.
        const waitKey = renders.toKey('wait');
        const ids = await redis.lrange(waitKey, 0, -1);
        const batchId = (await Promise.all(ids.map(async (id) => ((await renders.getJob(id))?.data.generationId === batch ? id : null)))).find(Boolean)!;
        await redis.lrem(waitKey, 1, batchId);
        await redis.rpush(waitKey, batchId);
        expect((await renders.getJob((await redis.lindex(waitKey, -1))!))?.data.generationId).toBe(batch);
      } finally {
        await dead.close();
        await deadConnection.quit();
        await queues.close();
      }
    });

    const submittedAt = async (jobId: string) => (await fx.db.jobAttempt.findFirst({ where: { jobId }, orderBy: { number: 'asc' } }))?.submittedAt ?? null;
    const [first, second] = await waitFor(async () => {
      const both = await Promise.all([submittedAt(interactive), submittedAt(batch)]);
      return both.every(Boolean) ? (both as Date[]) : null;
    }, 'both jobs to be submitted', 30_000);
    expect(first.getTime()).toBeLessThan(second.getTime());
  }, 60_000);

  it('when the stall check has put back more than a hundred jobs, the interactive one past the hundredth from the head, then the batch job taken first still goes behind it', async () => {
    const queuePrefix = fx.service.ctx.queuePrefix;
    const batches: string[] = [];
    let interactive = '';
    await fx.restart(async () => {
      const queues: PipelineQueues = createPipelineQueues(redis, queuePrefix, {}, createLogger('rvo-stalled-test', 'error'));
      const renders = queues.byKey.generationRenders;
      const deadConnection = createRedis(TEST_REDIS_URL, 'worker');
      const dead = new Worker(renders.name, null, { connection: deadConnection, prefix: queuePrefix, lockDuration: 200, autorun: false });
      try {
        // The killed orchestrators held them all (jobs waiting for a backend that is down are held too, up to 1,000).
        for (let n = 0; n < 101; n++) {
          const job = await fx.createdGeneration({ prompt: `batch held ${n}`, priority: 'batch' });
          batches.push(job.id);
          await queues.enqueueStage(job);
        }
        const interactiveJob = await fx.createdGeneration({ prompt: 'interactive held among many', priority: 'interactive' });
        interactive = interactiveJob.id;
        await queues.enqueueStage(interactiveJob);
        for (let n = 0; n < 102; n++) expect(await dead.getNextJob('dead-token')).toBeDefined();
        await new Promise((resolve) => setTimeout(resolve, 400));
        const check = async () => {
          await redis.del(renders.toKey('stalled-check'));
          await (dead as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait();
        };
        await check();
        await check();
        expect(await renders.getJobCounts('active', 'wait', 'prioritized')).toEqual({ active: 0, wait: 102, prioritized: 0 });
        // The stall check pushes them on the list's tail (RPUSH), in a Redis set's order, and workers take
        // from the tail (RPOPLPUSH): here the interactive job sits 101st from the head, a batch job at the tail.
        const waitKey = renders.toKey('wait');
        const ids = await redis.lrange(waitKey, 0, -1);
        const interactiveId = (await Promise.all(ids.map(async (id) => ((await renders.getJob(id))?.data.generationId === interactive ? id : null)))).find(Boolean)!;
        const others = ids.filter((id) => id !== interactiveId);
        await redis.multi().del(waitKey).rpush(waitKey, ...others.slice(0, 100), interactiveId, ...others.slice(100)).exec();
        expect(await redis.lindex(waitKey, 100)).toBe(interactiveId);
      } finally {
        await dead.close();
        await deadConnection.quit();
        await queues.close();
      }
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
