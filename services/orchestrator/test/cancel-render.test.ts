import type { Simulator } from '@anime/comfyui-simulator';
import { generationRequestBodySchema } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

describe('cancel in the orchestrator: a lost control message still cancels (in-process, simulator)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let simulator: Simulator;
  let service: RunningService;
  let lifecycle: JobLifecycle;
  let versionId: string;
  let characterId: string;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('cancel-render', { simulators: [{ stepMs: 50 }] });
    ({ db, lifecycle, service } = fx);
    [simulator] = fx.simulators;
    characterId = fx.character.id;
    versionId = fx.character.versionId;
  });

  afterAll(async () => {
    await fx?.close();
  });


  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });
  it('when cancelRequestedAt is set with no message sent, then the render is interrupted once and the generation canceled', async () => {
    const id = await fx.resolvedGeneration({ steps: 100 });
    const running = await waitFor(async () => {
      const g = await generation(id);
      return g.progressValue ? g : null;
    }, 'the prompt to run');
    await db.generationJob.update({ where: { id }, data: { cancelRequestedAt: new Date() } });
    const canceled = await waitFor(async () => {
      const g = await generation(id);
      return g.status === 'canceled' ? g : null;
    }, 'the generation to be canceled', 10_000);
    expect(canceled).toMatchObject({ stage: 'submitted', errorCode: 'canceled', outputs: null });
    expect(canceled.attempts[0].finishedAt).not.toBeNull();
    expect(simulator.controls.filter((c) => c.body.prompt_id === running.promptId || (c.body.delete as string[] | undefined)?.includes(running.promptId!))).toEqual([
      { path: '/interrupt', body: { prompt_id: running.promptId }, at: expect.any(String) },
    ]);
  });

  it('when a job picked after a restart already has a cancel request, then it is canceled without following its prompt', async () => {
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'asked to stop while nobody drove it', steps: 2 });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId, characterVersionId: versionId, conditioning: { positive: 'kainakamura', negative: '', loras: [], references: [], outfit: null } } });
    const workflow = { '1': { class_type: 'SaveImage', inputs: {} } };
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: 'never-sent', workflow });
    await db.generationJob.update({ where: { id: job.id }, data: { cancelRequestedAt: new Date() } });
    const id = job.id;
    const before = simulator.received.length;
    await service.ctx.queues.enqueueStage({ ...job, stage: 'submitted' });
    const canceled = await waitFor(async () => {
      const g = await generation(id);
      return g.status === 'canceled' ? g : null;
    }, 'the generation to be canceled', 10_000);
    expect(canceled.errorCode).toBe('canceled');
    expect(simulator.received.length).toBe(before);
  });
});
