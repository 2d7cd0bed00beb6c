import type { Job } from 'bullmq';
import type { Simulator } from '@anime/comfyui-simulator';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage } from '@anime/media';
import { createRedis, loadGeneration, type StageHandler } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { ReferenceStager } from '../src/domain/reference-stager';
import { CancelRequests } from '../src/jobs/cancel-requests';
import { createRenderPromptHandler } from '../src/jobs/render-prompt.processor';
import { listenToJobEvents } from './job-events-listener';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * A cancel recorded in the row (the gateway's requestCancel) whose control message has not reached
 * the orchestrator yet (in flight, or lost; the column is checked every few seconds) when ComfyUI
 * finishes the prompt: the render statement refuses the outputs, and the render must end the
 * generation as canceled, not report it rendered and leave it running at `submitted` for the
 * recovery sweep to pick up again.
 */
describe('a cancel requested as the prompt ends, before its message arrives (handler in-process, simulator)', () => {
  let fx: OrchestratorFixture;
  let simulator: Simulator;
  let pool: BackendPool;
  let cancels: CancelRequests;
  let render: StageHandler<'generationRenders'>;
  const log = createLogger('orchestrator', 'error');

  beforeAll(async () => {
    fx = await startOrchestratorFixture('cancel-at-render-end', { simulators: [{ stepMs: 100 }] });
    [simulator] = fx.simulators;
    // A handler of its own over the fixture's database, Redis and simulator: the fixture's workers never see these jobs.
    pool = new BackendPool({ urls: [simulator.url], db: fx.db, log });
    await pool.start();
    // Never started: no control message and no check of the column reaches its renders (both are late).
    cancels = new CancelRequests({ db: fx.db, subscriber: createRedis(TEST_REDIS_URL, 'subscriber'), queuePrefix: fx.service.ctx.queuePrefix, log });
    const stager = new ReferenceStager({ db: fx.db, storage: new LocalLibraryStorage(fx.libraryDir), log });
    render = createRenderPromptHandler({ db: fx.db, events: fx.service.ctx.events, log, pool, stager, cancels });
  });

  afterAll(async () => {
    await cancels?.stop();
    await pool?.close();
    await fx?.close();
  });

  it('when the cancel is recorded while the prompt runs and ComfyUI finishes it before the orchestrator hears of it, then the generation is canceled, its outputs not recorded, and nothing is handed to filing', async () => {
    const { id } = await fx.createdGeneration({ seed: 21, steps: 20 });
    const { published, close } = await listenToJobEvents(fx.service.ctx.queuePrefix);
    try {
      const running = render.run((await loadGeneration(fx.db, id))!, { job: { attemptsMade: 0 } as Job, log });
      await waitFor(() => fx.db.generationJob.findFirst({ where: { id, progressValue: { gt: 0 } } }), 'the prompt to run');
      // What the gateway's cancel of a generation in a backend writes before it tells the orchestrators.
      expect(await fx.lifecycle.requestCancel(id)).toBe(true);
      const result = await running;

      expect(result.reached).toBeUndefined();
      expect(result.outcome).toMatch(/^canceled/);
      const row = await fx.db.generationJob.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'canceled', stage: 'submitted', errorCode: 'canceled', outputs: null });
      await fx.service.ctx.redis.ping();
      expect(published.filter((e) => e.jobId === id).map((e) => e.name)).toContain('job:canceled');
      expect(await fx.service.ctx.queues.byKey.assetFiling.getJob(`filing-${id}`)).toBeUndefined();
    } finally {
      close();
    }
  });
});
