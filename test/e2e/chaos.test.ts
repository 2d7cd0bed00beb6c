import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES, TERMINAL_STATUSES } from '@anime/contracts';
import { startSimulatorProcess, type SimulatorProcess } from '@anime/stack';
import { removeQueueKeys, TEST_REDIS_URL, waitFor } from '@anime/testing';
import { libraryFiles } from './library-files';
import { startStackFixture, type StackFixture } from './stack-fixture';

const JOBS = 60;
const QUEUE_JOBS = 20;
// Kills go on this long, the Redis wipe at about half of it.
const CHAOS_MS = 30_000;
const KILL_EVERY_MS = [1_000, 2_500] as const;
/**
 * By this long after the start, the chaos is over (its last restarts included) and every generation
 * ended: the two waits that follow the chaos (the producers' late resends, then the generations'
 * ends) share this one deadline, so neither can outlast jest's bound on the test, which adds
 * CHECKS_MS for the reads of the database and the library after them. Were each wait given 60 s of
 * its own, the two of them after 30 s of chaos would run past that bound, and a slow run would
 * fail on jest's bare timeout, not on the wait saying what it still waited for.
 */
const RUN_MS = CHAOS_MS + 120_000;
const CHECKS_MS = 15_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

interface Planned { n: number; via: 'rest' | 'queue'; count: number; seed: number; steps: number }

/**
 * Issue 14's chaos run: 60 generations, some posted over REST and some put straight on
 * `generation-requests` by "another system", on two simulated backends, while a random service is
 * stopped (SIGKILL or SIGTERM, in turn) and started again every few seconds and, once, every Redis key of the pipeline is
 * deleted (a Redis restart). Each service's recovery sweep (1 s here) puts back from PostgreSQL
 * the work Redis lost. At the end each generation is completed once, filed once, and the library
 * holds exactly its assets.
 */
describe('chaos: services killed or stopped at random and Redis emptied while 60 jobs run', () => {
  let fx: StackFixture;
  let simulators: SimulatorProcess[];

  beforeAll(async () => {
    simulators = [
      await startSimulatorProcess({ stepMs: 10 }, 'sim-a'),
      await startSimulatorProcess({ stepMs: 10 }, 'sim-b'),
    ];
    fx = await startStackFixture('chaos', { comfyUrls: simulators.map((s) => s.url), extraEnv: { RECOVERY_SWEEP_MS: '1000' } });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
    await Promise.all((simulators ?? []).map((s) => s.process.stop()));
  });

  it('when services die and Redis is emptied mid-run, then every job completes once with exactly its assets and the library holds nothing else', async () => {
    const t0 = Date.now();
    // What is left of RUN_MS (at least one look, even past it: a wait then fails saying what it waited for).
    const runLeft = () => Math.max(1, t0 + RUN_MS - Date.now());
    const plan: Planned[] = Array.from({ length: JOBS }, (_, n) => ({
      n,
      via: n % 3 === 2 && n / 3 < QUEUE_JOBS ? 'queue' : 'rest',
      count: between(1, 2),
      seed: 1_000 + n,
      steps: between(20, 60),
    }));
    const body = (p: Planned) => ({ character: 'kai-nakamura', prompt: `chaos ${p.n}`, count: p.count, seed: p.seed, steps: p.steps, project: 'chaos', scene: `sc${String(p.n).padStart(3, '0')}` });
    const restIds = new Map<number, string>();
    let restRetries = 0;

    // A client retries until the gateway answers 202; a response lost to a kill may leave an extra generation (no REST idempotency key).
    const postUntilAccepted = async (p: Planned) => {
      for (;;) {
        const res = await fx.api.post('/api/v1/generations', body(p), { timeout: 10_000 }).catch(() => null);
        if (res?.status === 202) return void restIds.set(p.n, res.data.id);
        restRetries += 1;
        await pause(300);
      }
    };
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUES.generationRequests, { connection, prefix: fx.queuePrefix });
    const message = (p: Planned) => ({ schemaVersion: 1, source: 'chaos-producer', requestId: `chaos-${p.n}`, ...body(p) });
    const sentToQueue: Planned[] = [];
    const enqueue = async (p: Planned) => {
      await queue.add('resolveCharacter', message(p));
      sentToQueue.push(p);
    };

    const kills: string[] = [];
    let wiped = false;
    let inFlightAtWipe = 0;
    let stopChaos = false;
    // A kill does not wait for the last victim to be back: two services may be down at once.
    const restarts = new Map<string, Promise<void>>();
    const chaos = (async () => {
      while (!stopChaos && Date.now() - t0 < CHAOS_MS) {
        await pause(between(...KILL_EVERY_MS));
        if (!wiped && Date.now() - t0 > CHAOS_MS / 2) {
          inFlightAtWipe = await fx.db.generationJob.count({ where: { status: { in: ['queued', 'running'] } } });
          await removeQueueKeys(fx.queuePrefix);
          wiped = true;
          // A producer that saw no outcome sends its request again; its requestId makes that a no-op if the job exists.
          for (const p of [...sentToQueue]) await queue.add('resolveCharacter', message(p));
        }
        const up = fx.stack.serviceNames.filter((name) => !restarts.has(name));
        if (!up.length) continue;
        const name = up[between(0, up.length - 1)];
        // Every other stop is a SIGTERM: the service hands the jobs it still runs after its grace
        // back to their queues, at whatever point of their work the stop finds them.
        const signal = kills.length % 2 ? 'SIGTERM' : 'SIGKILL';
        await fx.stack.services[name]!.stop(signal);
        kills.push(`${name} (${signal})`);
        restarts.set(name, (async () => {
          await pause(between(100, 800));
          await fx.stack.services[name]!.start();
          restarts.delete(name);
        })());
      }
      await Promise.all(restarts.values());
    })();

    try {
      // Producers send over the first half of the chaos, faster than two backends render, so the wipe finds a backlog.
      const submissions: Promise<void>[] = [];
      for (const p of plan) {
        submissions.push(p.via === 'rest' ? postUntilAccepted(p) : enqueue(p));
        await pause(CHAOS_MS / 2 / JOBS);
      }
      await Promise.all(submissions);
      await chaos;
      expect(wiped).toBe(true);

      // A producer that still sees no generation for a request (say, added just as Redis was emptied) sends it again.
      const queuePlans = plan.filter((p) => p.via === 'queue');
      let resends = 0;
      const queueRows = await waitFor(async () => {
        const rows = await fx.db.generationJob.findMany({ where: { source: 'chaos-producer' } });
        const missing = queuePlans.filter((p) => !rows.some((r) => r.requestId === `chaos-${p.n}`));
        for (const p of missing) await queue.add('resolveCharacter', message(p));
        resends += missing.length;
        return missing.length ? null : rows;
      }, 'a generation for every queued request', runLeft(), 3_000);
      expect(queueRows.map((r) => r.requestId).sort()).toEqual(queuePlans.map((p) => `chaos-${p.n}`).sort());
      expect(new Set(restIds.values()).size).toBe(plan.filter((p) => p.via === 'rest').length);

      const jobs = await waitFor(async () => {
        const rows = await fx.db.generationJob.findMany({ where: { project: 'chaos' } });
        return rows.every((r) => TERMINAL_STATUSES.includes(r.status)) ? rows : null;
      }, 'every generation to end', runLeft(), 500);
      const elapsed = Date.now() - t0;
      console.log(`chaos: ${jobs.length} generations (${restIds.size} REST, ${queueRows.length} queue, ${jobs.length - restIds.size - queueRows.length} extra from REST responses lost to a kill, ${restRetries} REST retries, ${resends} late queue resends), ${kills.length} stops (${kills.join(', ')}), Redis emptied once with ${inFlightAtWipe} unfinished, all ended after ${elapsed} ms`);

      // Every generation ever created, including any a lost REST response left, completed once.
      expect(await fx.db.generationJob.count()).toBe(jobs.length);
      expect(jobs.filter((j) => j.status !== 'completed').map((j) => [j.id, j.status, j.stage, j.errorCode, j.errorMessage])).toEqual([]);
      const completedEvents = await fx.db.jobEvent.groupBy({ by: ['jobId'], where: { type: 'job:completed' }, _count: { _all: true } });
      expect(completedEvents.filter((e) => e._count._all !== 1)).toEqual([]);
      expect(completedEvents).toHaveLength(jobs.length);

      const assets = await fx.db.asset.findMany();
      const countOf = new Map(jobs.map((j) => [j.id, (j.request as { count: number }).count]));
      const assetsPer = new Map<string, number>();
      for (const a of assets) assetsPer.set(a.jobId, (assetsPer.get(a.jobId) ?? 0) + 1);
      expect(jobs.filter((j) => assetsPer.get(j.id) !== countOf.get(j.id)).map((j) => [j.id, assetsPer.get(j.id), countOf.get(j.id)])).toEqual([]);
      expect(new Set(assets.map((a) => a.path)).size).toBe(assets.length);

      // The library holds each asset and its sidecar and nothing else: no orphan, no duplicate, no .partial.
      const files = await libraryFiles(fx.libraryDir);
      const expected = assets.flatMap((a) => [a.path, `${a.path}.json`]).sort();
      expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect(files.sort()).toEqual(expected);
    } finally {
      stopChaos = true;
      await chaos.catch(() => undefined);
      await queue.close();
      connection.disconnect();
    }
  }, RUN_MS + CHECKS_MS);
});
