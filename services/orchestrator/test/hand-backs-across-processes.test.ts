import type { Redis } from 'ioredis';
import type { Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createPipelineQueues, createRedis, type PipelineQueues } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

type Line = { level: string; message: string; jobId?: string; from?: string };

/** A logger whose every line is also pushed to `lines`, marked `from`. */
function recordingLogger(lines: Line[], from: string) {
  const log = createLogger('orchestrator', 'info');
  for (const transport of log.transports) transport.silent = true;
  log.on('data', (line: Line) => lines.push({ ...line, from }));
  return log;
}

/**
 * Render jobs handed back to their queue were promoted only by the process that handed them back:
 * after a restart (a deploy), or once that replica was gone (scale-in), they came back only when their
 * delay ended (up to 15 min with a deep backlog) while the backend that could run them sat idle. Here
 * their delays are forced long (as a deep backlog makes them) to tell promotion from a delay's end.
 */
describe('render jobs handed back by another process (orchestrators in-process, a busy and an idle simulator with different models)', () => {
  /** What a deep backlog makes of a delay (HAND_BACK_DELAY_CAP_MS is 15 min): far past each test's wait. */
  const LONG_DELAY_MS = 10 * 60_000;
  let fx: OrchestratorFixture;
  let db: Db;
  /** A connection and queues of the test's own, as another process has them: they outlive each orchestrator's. */
  let redis: Redis;
  let queues: PipelineQueues;
  const lines: Line[] = [];

  beforeAll(async () => {
    const log = recordingLogger(lines, 'first');
    fx = await startOrchestratorFixture('hand-backs-across', {
      // Alpha: about 0.5 s a render, 2 places (BACKEND_PREFETCH 1), 2 more jobs waiting for them. Beta,
      // idle, lends its worker slots: the alpha jobs past those take them and are handed back.
      simulators: [{ stepMs: 100, checkpoints: ['alpha.safetensors'] }, { stepMs: 20, checkpoints: ['beta.safetensors'] }],
      env: { BACKEND_PREFETCH: '1', JOB_TIMEOUT_S: '60' },
      log,
    });
    ({ db } = fx);
    redis = createRedis(TEST_REDIS_URL);
    queues = createPipelineQueues(redis, fx.service.ctx.queuePrefix, {}, createLogger('hand-backs-test', 'error'));
  });

  afterAll(async () => {
    await queues?.close();
    await redis?.quit();
    await fx?.close();
  });

  const renderJob = (id: string) => queues.byKey.generationRenders.getJob(`render-${id}`);
  /** `count` jobs only alpha can run, of `steps` sampler steps (100 ms each). */
  const backlogFor = async (label: string, count: number, steps = 5) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(await fx.resolvedGeneration({ prompt: `${label} ${i}`, steps }, { checkpoint: 'alpha.safetensors' }));
    return ids;
  };
  const delayedOf = async (ids: string[]) => {
    const states = await Promise.all(ids.map(async (id) => (await renderJob(id))?.getState()));
    return ids.filter((_, i) => states[i] === 'delayed');
  };
  /** Makes the delay of each job of `ids` delayed now LONG_DELAY_MS; the ids changed. */
  const forceLongDelays = async (ids: string[]) => {
    const changed: string[] = [];
    for (const id of await delayedOf(ids)) {
      const job = await renderJob(id);
      if (await job!.changeDelay(LONG_DELAY_MS).then(() => true, () => false)) changed.push(id);
    }
    return changed;
  };
  const settled = (ids: string[], withinMs: number) =>
    waitFor(async () => {
      const found = await db.generationJob.findMany({ where: { id: { in: ids } }, include: { attempts: true } });
      return found.every((g) => g.stage === 'rendered' || g.status === 'canceled' || g.status === 'failed') ? found : null;
    }, 'the backlog to settle', withinMs);
  /**
   * The longest the backend sat idle between renders once `since` passed: renders as the attempts
   * record them (started, finished), merged where they overlap (a prompt queued behind the running one).
   */
  const longestIdleMs = (attempts: { startedAt: Date | null; finishedAt: Date | null }[], since: number) => {
    const spans = attempts
      .filter((a) => a.startedAt && a.finishedAt && a.finishedAt.getTime() >= since)
      .map((a) => [a.startedAt!.getTime(), a.finishedAt!.getTime()] as const)
      .sort((a, b) => a[0] - b[0]);
    let longest = 0;
    let busyUntil = spans[0]?.[1] ?? since;
    for (const [start, end] of spans.slice(1)) {
      longest = Math.max(longest, start - busyUntil);
      busyUntil = Math.max(busyUntil, end);
    }
    return longest;
  };
  /** The shared lines of handed-back jobs left in Redis. */
  const linesLeft = () => redis.keys(`${fx.service.ctx.queuePrefix}:handed-back:*`);

  const expectRenderedOnce = (rows: Awaited<ReturnType<typeof settled>>, ids: string[]) => {
    const [alpha] = fx.simulators;
    expect(rows.map((g) => [g.status, g.stage, g.backend])).toEqual(ids.map(() => ['running', 'rendered', alpha.url]));
    expect(rows.map((g) => g.attempts.length)).toEqual(ids.map(() => 1));
    for (const id of ids) expect(alpha.received.filter((p) => JSON.stringify(p.prompt).includes(id)).length).toBe(1);
  };

  it('when the orchestrator restarts while jobs are handed back with long delays, then the places coming free promote them: the backend is never idle a second, and every job renders once', async () => {
    const backlog = await backlogFor('restart', 12);
    await waitFor(async () => ((await delayedOf(backlog)).length >= 4) || null, 'jobs of the backlog to be handed back', 15_000);
    let forced: string[] = [];
    let restartedAt = 0;
    await fx.restart(async () => {
      forced = await forceLongDelays(backlog);
      restartedAt = Date.now();
    });
    expect(forced.length).toBeGreaterThanOrEqual(2);

    // Before: the jobs forced long stayed delayed (10 min) with alpha idle once the others rendered; this wait timed out.
    const rows = await settled(backlog, 30_000);
    const settledMs = Date.now() - restartedAt;
    expectRenderedOnce(rows, backlog);
    const idleMs = longestIdleMs(rows.flatMap((g) => g.attempts), restartedAt);
    console.log(`restart: ${forced.length} jobs handed back with ${LONG_DELAY_MS} ms delays; all ${backlog.length} rendered ${settledMs} ms after the restart; alpha idle at most ${idleMs} ms between renders`);
    expect(idleMs).toBeLessThan(1_000);
    expect(settledMs).toBeLessThan(LONG_DELAY_MS);
    // Each job left the lines as it came back: nothing is left in Redis.
    expect(await linesLeft()).toEqual([]);
  }, 90_000);

  it('when a replica that handed jobs back stops (a rolling deploy, a scale-in) while another renders on, then places coming free on the other promote them, not their delays', async () => {
    lines.length = 0;
    const backlog = await backlogFor('scale-in', 16);
    // Delayed now, and handed back last by the first process (the log lines of each process say which jobs it handed back).
    const handedBackByFirst = async () => {
      const last = new Map(lines.filter((l) => l.message === 'stage job deferred to its queue').map((l) => [l.jobId, l.from]));
      return (await delayedOf(backlog)).filter((id) => last.get(`render-${id}`) === 'first');
    };
    await waitFor(async () => ((await handedBackByFirst()).length >= 6) || null, 'the first process to hand jobs back', 15_000);
    await forceLongDelays(backlog);
    // The new replica comes up, then the first one goes: stopping, it promotes a few of its own (as
    // its waits end) for the replica to take, and leaves the rest delayed.
    const replica = await fx.startReplica(recordingLogger(lines, 'replica'));
    try {
      let rows: Awaited<ReturnType<typeof settled>> | undefined;
      let stoppedAt = 0;
      let forcedByFirst: string[] = [];
      // Stopped until the backlog settled: the replica alone renders meanwhile.
      await fx.restart(async () => {
        forcedByFirst = await handedBackByFirst();
        stoppedAt = Date.now();
        // Before: the jobs the stopped process handed back stayed delayed (10 min) once the replica rendered the others; this wait timed out.
        rows = await settled(backlog, 30_000);
      });
      expect(forcedByFirst.length).toBeGreaterThanOrEqual(2);
      expectRenderedOnce(rows!, backlog);
      const idleMs = longestIdleMs(rows!.flatMap((g) => g.attempts), stoppedAt);
      console.log(`scale-in: ${forcedByFirst.length} jobs the stopped process handed back with ${LONG_DELAY_MS} ms delays; all ${backlog.length} rendered ${Date.now() - stoppedAt} ms after it stopped; alpha idle at most ${idleMs} ms between renders`);
      expect(idleMs).toBeLessThan(1_000);
      expect(await linesLeft()).toEqual([]);
    } finally {
      await replica.stop();
    }
  }, 90_000);

  it('when a job handed back with a long delay is canceled as the gateway cancels a queued one (at once, then its queue job brought forward), then its queue job ends now, it is never submitted, and no line keeps it', async () => {
    const [alpha] = fx.simulators;
    const backlog = await backlogFor('cancel', 8);
    const last = backlog.at(-1)!;
    await waitFor(async () => ((await renderJob(last))?.isDelayed()) || null, 'the last job of the backlog to be handed back', 15_000);
    await forceLongDelays([last]);
    expect(await fx.lifecycle.cancelAtOnce(last)).not.toBeNull();
    const canceledAt = Date.now();
    await queues.promoteStage({ id: last, stage: 'resolved' });

    // Before: it stayed delayed for the rest of its delay (up to 15 min), then came back to end.
    await waitFor(async () => ((await renderJob(last))?.isCompleted()) || null, 'the canceled job to end', 3_000);
    console.log(`cancel: the handed-back job's queue job ended ${Date.now() - canceledAt} ms after the cancel`);
    const rows = await settled(backlog, 30_000);
    expect(rows.find((g) => g.id === last)).toMatchObject({ status: 'canceled', stage: 'resolved', attempts: [] });
    expect(alpha.received.filter((p) => JSON.stringify(p.prompt).includes(last))).toEqual([]);
    expect((await db.jobEvent.findMany({ where: { jobId: last }, orderBy: { seq: 'asc' } })).map((e) => e.type)).toEqual(['job:queued', 'job:canceled']);
    expect(await linesLeft()).toEqual([]);
  }, 60_000);
});
