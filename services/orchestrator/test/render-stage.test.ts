import { Job } from 'bullmq';
import { textToImage, type Simulator } from '@anime/comfyui-simulator';
import { generationEventsStream, generationRequestBodySchema, parseGenerationStreamEntry } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobLifecycle, MAX_GENERATION_EVENTS, type RunningService } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { queuedByAnEarlierProcess } from './earlier-prompt';
import { listenToJobEvents } from './job-events-listener';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

describe('render stage (orchestrator in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let simulator: Simulator;
  let service: RunningService;
  let lifecycle: JobLifecycle;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('render-stage', { simulators: [{ stepMs: 5 }] });
    ({ db, lifecycle, service } = fx);
    [simulator] = fx.simulators;
  });

  afterAll(async () => {
    await fx?.close();
  });


  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });
  const renderJob = (id: string) => Job.fromId(service.ctx.queues.byKey.generationRenders, `render-${id}`);
  // The state first, then the job: a job read while still active would lack its failedReason.
  const settledRenderJob = (id: string) =>
    waitFor(async () => {
      const state = await service.ctx.queues.byKey.generationRenders.getJobState(`render-${id}`);
      return state === 'completed' || state === 'failed' ? { job: (await renderJob(id))!, state } : null;
    }, 'the render job to settle');

  it('when a resolved generation is rendered, then it reaches stage rendered with its outputs, one finished attempt and a filing job', async () => {
    const id = await fx.resolvedGeneration();
    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.stage === 'rendered' ? g : null;
    }, 'the render');
    expect(row).toMatchObject({ status: 'running', backend: simulator.url });
    expect((row.outputs as { items: unknown[] }).items).toHaveLength(1);
    expect(row.attempts).toHaveLength(1);
    expect(row.attempts[0].finishedAt).not.toBeNull();
    expect(await service.ctx.queues.byKey.assetFiling.getJob(`filing-${id}`)).toBeDefined();
  });

  it('when a recorded prompt finished on its backend while no process followed it, and its job is picked up past JOB_TIMEOUT_S (a crash, then a long queue), then it is rendered with that prompt\'s outputs, not failed with timeout', async () => {
    const job = await fx.createdGeneration({ seed: 11 });
    const workflow = textToImage({ steps: 2, width: 64, height: 64, seed: 11 });
    // The prompt an orchestrator that died sent: it ran to its end on the backend with nobody following it.
    const promptId = await queuedByAnEarlierProcess(simulator.url, workflow);
    await waitFor(async () => ((await (await fetch(`${simulator.url}/history/${promptId}`)).json()) as Record<string, unknown>)[promptId], 'the prompt to finish');
    await lifecycle.submit(job.id, { backend: simulator.url, promptId, workflow });
    // Submitted longer ago than JOB_TIMEOUT_S (600 s here): its queue job waited behind others meanwhile.
    await db.generationJob.update({ where: { id: job.id }, data: { startedAt: new Date(Date.now() - 700_000) } });
    await service.ctx.queues.enqueueStage({ ...job, stage: 'submitted' });

    const settled = await settledRenderJob(job.id);
    expect(settled.state).toBe('completed');
    const row = await generation(job.id);
    expect(row).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null, promptId });
    expect(row.outputs).toMatchObject({ backend: simulator.url, promptId, items: [expect.objectContaining({ nodeId: '9' })] });
    expect(simulator.received.filter((p) => p.promptId === promptId)).toHaveLength(1);
    // Its start, which nobody heard, is in the story before the outputs, once.
    const story = await db.jobEvent.findMany({ where: { jobId: job.id }, orderBy: { seq: 'asc' } });
    expect(story.map((e) => e.type)).toEqual(['job:queued', 'job:submitted', 'job:started']);
    expect((await db.jobAttempt.findFirstOrThrow({ where: { jobId: job.id } })).startedAt).toBeInstanceOf(Date);
  });

  it('when ComfyUI refuses the prompt (400, failed validation), then the generation fails with comfyui_validation and no job:submitted was published or kept: the prompt never entered its queue', async () => {
    const { published, close } = await listenToJobEvents(service.ctx.queuePrefix);
    try {
      simulator.misbehave({
        kind: 'post_answer',
        status: 400,
        body: {
          error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
          node_errors: { '4': { class_type: 'CheckpointLoaderSimple', errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: "ckpt_name: 'gone.safetensors' not in []", extra_info: {} }], dependent_outputs: ['9'] } },
        },
      });
      const id = await fx.resolvedGeneration();
      const failed = await settledRenderJob(id);
      simulator.misbehave(undefined);
      expect(failed.state).toBe('failed');
      const row = await generation(id);
      expect(row).toMatchObject({ status: 'failed', errorCode: 'comfyui_validation' });
      expect(row.attempts).toHaveLength(1);
      expect((row.attempts[0].error as { code: string }).code).toBe('comfyui_validation');
      const story = await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
      expect(story.map((e) => e.type)).toEqual(['job:queued', 'job:failed']);
      await waitFor(() => published.some((e) => e.jobId === id && e.name === 'job:failed'), 'job:failed published');
      expect(published.filter((e) => e.jobId === id).map((e) => e.name)).toEqual(['job:failed']);
      const streamed = (await service.ctx.redis.xrange(generationEventsStream(service.ctx.queuePrefix), '-', '+')).map(([, fields]) => parseGenerationStreamEntry(fields)).filter((e) => e.generationId === id);
      expect(streamed.map((e) => e.event)).toEqual(['job:failed']);
    } finally {
      simulator.misbehave(undefined);
      close();
    }
  });

  it('when a failed render stage job is retried as a dashboard does (job.retry()), then the stage runs again and the generation renders, never a silent completion', async () => {
    simulator.failNext('execution_error', 'CUDA out of memory');
    const id = await fx.resolvedGeneration();
    const failed = await settledRenderJob(id);
    expect(failed.state).toBe('failed');
    expect(await generation(id)).toMatchObject({ status: 'failed', stage: 'submitted', errorCode: 'comfyui_execution' });

    await failed.job.retry('failed');
    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.stage === 'rendered' ? g : null;
    }, 'the retried render');
    expect(row).toMatchObject({ status: 'running', errorCode: null });
    expect(row.attempts.map((a) => a.number)).toEqual([1, 2]);
    expect((row.attempts[0].error as { code: string }).code).toBe('comfyui_execution');
    const story = await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
    expect(story.map((e) => e.type)).toEqual(['job:queued', 'job:submitted', 'job:started', 'job:failed', 'job:retrying', 'job:submitted', 'job:started']);
  });

  it('when a failed render job is retried as a dashboard does but its generation reached the events cap, then the queue job is refused saying so, no prompt is sent again and the generation stays failed', async () => {
    simulator.failNext('execution_error', 'CUDA out of memory');
    const id = await fx.resolvedGeneration();
    const failed = await settledRenderJob(id);
    expect(failed.state).toBe('failed');
    // As hundreds of retries leave it (their events stored), the last one having failed before its prompt reached a backend (stage resolved).
    const { eventSeq } = await db.generationJob.findUniqueOrThrow({ where: { id } });
    const add = MAX_GENERATION_EVENTS - (await db.jobEvent.count({ where: { jobId: id } }));
    await db.jobEvent.createMany({ data: Array.from({ length: add }, (_, i) => ({ jobId: id, seq: eventSeq + 1 + i, type: i % 2 ? 'job:failed' : 'job:retrying', payload: { jobId: id }, webhooksDispatched: true })) });
    await db.generationJob.update({ where: { id }, data: { eventSeq: eventSeq + add, stage: 'resolved' } });
    const before = await generation(id);

    await failed.job.retry('failed');
    const refused = await waitFor(async () => {
      const job = await renderJob(id);
      return job && job.attemptsMade > failed.job.attemptsMade && (await job.getState()) === 'failed' ? job : null;
    }, 'the retried job to be refused');
    expect(refused.failedReason).toMatch(/failed and could not be re-opened \(its history reached 1000 events/);
    expect(await generation(id)).toEqual(before);
    expect(simulator.received.filter((p) => JSON.stringify(p).includes(id))).toHaveLength(1);
  });

  it('when the render job of a completed generation is retried, then the queue job fails saying there is nothing to run again, and the generation is untouched', async () => {
    const id = await fx.resolvedGeneration();
    await waitFor(async () => (await generation(id)).stage === 'rendered', 'the render');
    await lifecycle.file(id, []);
    const done = await settledRenderJob(id);
    expect(done.state).toBe('completed');

    await done.job.retry('completed');
    const refused = await waitFor(async () => ((await service.ctx.queues.byKey.generationRenders.getJobState(`render-${id}`)) === 'failed' ? renderJob(id) : null), 'the retried job to be refused');
    expect(refused!.failedReason).toMatch(/completed: generation-renders has nothing to run again/);
    expect(await generation(id)).toMatchObject({ status: 'completed', stage: 'filed' });
    expect(simulator.received.filter((p) => JSON.stringify(p).includes(id))).toHaveLength(1);
  });

  it('when a render job is retried for a generation that failed before rendering, then it is refused naming the stage to retry', async () => {
    const body = generationRequestBodySchema.parse({ character: 'nobody', prompt: 'x' });
    const { job } = await lifecycle.create({ body, source: 'test' });
    await lifecycle.fail(job.id, { code: 'character_not_found', message: 'no character matches "nobody"' });
    await service.ctx.queues.enqueue('generationRenders', { schemaVersion: 1, generationId: job.id });
    const refused = await settledRenderJob(job.id);
    expect(refused.state).toBe('failed');
    expect(refused.job.failedReason).toMatch(/failed at stage requested \(character_not_found\).*retry its generation-requests job instead/);
    expect(await generation(job.id)).toMatchObject({ status: 'failed', errorCode: 'character_not_found' });
  });
});
