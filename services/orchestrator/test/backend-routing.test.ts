import type { Simulator } from '@anime/comfyui-simulator';
import { generationRequestBodySchema, type JobConditioning, type Priority } from '@anime/contracts';
import type { Db } from '@anime/db';
import { createRedis, JobControlPublisher, JobLifecycle, type RunningService } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { registerWorkflow } from '@anime/workflows';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

const base: JobConditioning = { positive: 'kainakamura, 1boy', negative: 'lowres', loras: [], references: [], outfit: null };

describe('backend pool (orchestrator in-process, two simulators with different models)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let alpha: Simulator;
  let beta: Simulator;
  let service: RunningService;
  let lifecycle: JobLifecycle;
  let version: { id: string; characterId: string };

  beforeAll(async () => {
    fx = await startOrchestratorFixture('backend-routing', { simulators: [{ stepMs: 5, checkpoints: ['alpha.safetensors'], loras: ['alpha-style.safetensors'] }, { stepMs: 5, checkpoints: ['beta.safetensors'], loras: [] }] });
    ({ db, lifecycle, service } = fx);
    [alpha, beta] = fx.simulators;
    version = { id: fx.character.versionId, characterId: fx.character.id };
  });

  afterAll(async () => {
    await fx?.close();
  });

  async function render(conditioning: Partial<JobConditioning>, steps = 2, priority: Priority = 'normal'): Promise<string> {
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'on a rooftop', steps, width: 64, height: 64, priority });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: version.characterId, characterVersionId: version.id, conditioning: { ...base, ...conditioning } } });
    await service.ctx.queues.enqueueStage(job);
    return job.id;
  }

  const settled = (id: string) =>
    waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, `generation ${id} to render or fail`, 30_000);
  const received = (sim: Simulator, id: string) => sim.received.filter((p) => JSON.stringify(p).includes(id)).length;

  it('when the orchestrator starts, then each backend is recorded up under a stable id with its models and node classes', async () => {
    const rows = await db.backend.findMany({ orderBy: { url: 'asc' } });
    const byUrl = new Map(rows.map((r) => [r.url, r]));
    expect(byUrl.get(alpha.url)).toMatchObject({ id: backendIdFor(alpha.url), state: 'up', checkpoints: ['alpha.safetensors'], loras: ['alpha-style.safetensors'], draining: false });
    expect(byUrl.get(beta.url)).toMatchObject({ id: backendIdFor(beta.url), state: 'up', checkpoints: ['beta.safetensors'], loras: [] });
    expect(byUrl.get(alpha.url)!.nodeClasses).toEqual(expect.arrayContaining(['CheckpointLoaderSimple', 'KSampler', 'SaveImage']));
    expect(backendIdFor(`${alpha.url}/`)).toBe(backendIdFor(alpha.url));
    expect((await fetch(`http://127.0.0.1:${service.ops.port()}/readyz`)).status).toBe(200);
  });

  it('when jobs need different models, then each lands on the backend that has them, with job:submitted then job:started for attempt 1', async () => {
    const onBeta = await render({ checkpoint: 'beta.safetensors' });
    const onAlpha = await render({ checkpoint: 'alpha.safetensors', loras: [{ name: 'alpha-style.safetensors', weight: 0.8 }] });
    const [b, a] = await Promise.all([settled(onBeta), settled(onAlpha)]);
    expect([b.stage, b.backend, a.stage, a.backend]).toEqual(['rendered', beta.url, 'rendered', alpha.url]);
    expect([received(alpha, onBeta), received(beta, onAlpha)]).toEqual([0, 0]);
    expect(b.attempts[0].submittedAt).toBeInstanceOf(Date);
    expect(b.attempts[0].startedAt!.getTime()).toBeGreaterThanOrEqual(b.attempts[0].submittedAt.getTime());
    const story = await db.jobEvent.findMany({ where: { jobId: onBeta }, orderBy: { seq: 'asc' } });
    expect(story.map((e) => [e.type, (e.payload as { attempt?: number }).attempt ?? null])).toEqual([['job:queued', null], ['job:submitted', 1], ['job:started', 1]]);
    expect(story[1].payload).toMatchObject({ backend: beta.url });
    const done = await waitFor(async () => (await db.backend.findUniqueOrThrow({ where: { id: backendIdFor(beta.url) } })).jobsDone >= 1, 'jobsDone to count');
    expect(done).toBe(true);
    // Both backends' counts (added together, one statement per flush).
    expect(await waitFor(async () => (await db.backend.findUniqueOrThrow({ where: { id: backendIdFor(alpha.url) } })).jobsDone >= 1, 'alpha jobsDone to count')).toBe(true);
  });

  it('when a job needs a model no backend has, then it fails at once with no_capable_backend naming it, and nothing is submitted', async () => {
    const started = Date.now();
    const id = await render({ checkpoint: 'beta.safetensors', loras: [{ name: 'nobody-has-this.safetensors', weight: 1 }] });
    const failed = await settled(id);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(failed).toMatchObject({ status: 'failed', stage: 'resolved', errorCode: 'no_capable_backend' });
    expect(failed.errorMessage).toContain('LoRA "nobody-has-this.safetensors"');
    expect(failed.errorDetails).toMatchObject({ missing: ['LoRA "nobody-has-this.safetensors"'] });
    expect(received(alpha, id) + received(beta, id)).toBe(0);
  });

  it('when a template\'s own LoraLoader names a LoRA one backend has, then its jobs land there (never refused by the other with value_not_in_list); one no backend has fails with no_capable_backend', async () => {
    const graph = (lora: string) => ({
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'any.safetensors' } },
      '10': { class_type: 'LoraLoader', inputs: { model: ['1', 0], clip: ['1', 1], lora_name: lora, strength_model: 0.8, strength_clip: 0.8 } },
      '2': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['10', 1] } },
      '4': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
      '5': { class_type: 'KSampler', inputs: { model: ['10', 0], seed: 1, steps: 2, cfg: 7, sampler_name: 'euler', scheduler: 'normal', positive: ['2', 0], negative: ['2', 0], latent_image: ['4', 0], denoise: 1 } },
      '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
      '7': { class_type: 'SaveImage', inputs: { images: ['6', 0], filename_prefix: 'styled' } },
    });
    const params = { prompt: { type: 'string' as const, node: '2', input: 'text' }, checkpoint: { type: 'string' as const, node: '1', input: 'ckpt_name' } };
    await registerWorkflow(db, { slug: 'alpha-styled', graph: graph('alpha-style.safetensors'), params });
    await registerWorkflow(db, { slug: 'unstyled', graph: graph('nobody-has-this.safetensors'), params });
    // At once: routing spreads them by load, so without the LoRA among the jobs' needs some would go to beta.
    const ids = await Promise.all([1, 2, 3].map(() => render({ workflow: { slug: 'alpha-styled', version: 1, params: {} } })));
    const rendered = await Promise.all(ids.map(settled));
    expect(rendered.map((g) => [g.stage, g.errorCode, g.backend])).toEqual(rendered.map(() => ['rendered', null, alpha.url]));
    const failed = await settled(await render({ workflow: { slug: 'unstyled', version: 1, params: {} } }));
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'no_capable_backend' });
    expect(failed.errorMessage).toContain('LoRA "nobody-has-this.safetensors"');
  });

  it('when nothing names a checkpoint, then the chosen backend\'s first is used, never a placeholder', async () => {
    const id = await render({});
    const row = await settled(id);
    const graph = row.attempts.at(-1)!.workflow as Record<string, { class_type: string; inputs: { ckpt_name?: string } }>;
    const checkpoint = Object.values(graph).find((n) => n.class_type === 'CheckpointLoaderSimple')!.inputs.ckpt_name;
    expect(row.stage).toBe('rendered');
    expect(checkpoint).toBe(row.backend === alpha.url ? 'alpha.safetensors' : 'beta.safetensors');
  });

  it('when more jobs than it has places need the one backend that can run them, then it holds at most 1 + BACKEND_PREFETCH of them, and the jobs queued behind them that another backend can run go there at its next free place, not after them all', async () => {
    const onlyAlpha = [];
    for (let i = 0; i < 6; i++) onlyAlpha.push(await render({ checkpoint: 'alpha.safetensors' }, 100));
    const anywhereElse = [await render({ checkpoint: 'beta.safetensors' }), await render({ checkpoint: 'beta.safetensors' })];
    const rows = await Promise.all([...onlyAlpha, ...anywhereElse].map(settled));
    expect(rows.map((g) => [g.stage, g.backend])).toEqual([...onlyAlpha.map(() => ['rendered', alpha.url]), ...anywhereElse.map(() => ['rendered', beta.url])]);
    // Alpha's prompts from this orchestrator at once, from each attempt's submission to its end: never more than its places (BACKEND_PREFETCH 1).
    const spans = rows.slice(0, 6).map((g) => [g.attempts[0].submittedAt.getTime(), g.attempts[0].finishedAt!.getTime()]);
    const most = Math.max(...spans.map(([at]) => spans.filter(([from, to]) => from <= at && at < to).length));
    expect(most).toBeLessThanOrEqual(2);
    // The alpha jobs waiting for a place hold worker slots but raise the render concurrency at once:
    // beta's jobs go out while alpha runs its first job, not behind the six (sent to alpha's own
    // queue, they took every slot until the third ended; later, a raise waited for a render to end).
    const firstEnd = Math.min(...spans.map(([, to]) => to));
    for (const g of rows.slice(6)) expect(g.attempts[0].submittedAt.getTime()).toBeLessThan(firstEnd);
  });

  it('when batch jobs wait for the one backend that can run them, then an interactive job for it takes its next free place, ahead of them', async () => {
    const batch: string[] = [];
    for (let i = 0; i < 6; i++) batch.push(await render({ checkpoint: 'alpha.safetensors' }, 100, 'batch'));
    // The orchestrator holds them all (two in alpha, four waiting for a place) before the interactive job comes.
    await waitFor(async () => (await db.jobAttempt.count({ where: { jobId: { in: batch } } })) >= 2 || null, 'two batch jobs in alpha', 10_000);
    const interactive = await render({ checkpoint: 'alpha.safetensors' }, 100, 'interactive');
    const rows = await Promise.all([...batch, interactive].map(settled));
    const submittedAt = (g: (typeof rows)[number]) => g.attempts[0].submittedAt.getTime();
    const urgent = rows.pop()!;
    expect([urgent.stage, urgent.backend]).toEqual(['rendered', alpha.url]);
    // Only the batch jobs already in alpha, and at most one placed meanwhile, go before it.
    expect(rows.filter((g) => submittedAt(g) > submittedAt(urgent)).length).toBeGreaterThanOrEqual(3);
  });

  it('when more batch jobs than every backend\'s places wait for the one backend that can run them, full, then an interactive job queued after them goes before most of them, not after them all', async () => {
    // Beta drained: alpha is the only backend taking jobs, and the batch jobs wait for its places.
    await db.backend.update({ where: { id: backendIdFor(beta.url) }, data: { draining: true, drainedAt: new Date() } });
    await waitFor(() => drainState(beta), 'the orchestrator to see beta draining', 10_000);
    try {
      const batch: string[] = [];
      for (let i = 0; i < 14; i++) batch.push(await render({ checkpoint: 'alpha.safetensors' }, 60, 'batch'));
      await waitFor(async () => (await db.jobAttempt.count({ where: { jobId: { in: batch } } })) >= 2 || null, 'two batch jobs in alpha', 10_000);
      const interactive = await render({ checkpoint: 'alpha.safetensors' }, 60, 'interactive');
      const rows = await Promise.all([...batch, interactive].map(settled));
      const submittedAt = (g: (typeof rows)[number]) => g.attempts[0].submittedAt.getTime();
      const urgent = rows.pop()!;
      expect([urgent.stage, urgent.backend]).toEqual(['rendered', alpha.url]);
      // Taken from the queue only a few ahead (2 in alpha, at most 4 waiting for its places), not all
      // 14: those still queued, as the interactive job, go after it.
      expect(rows.filter((g) => submittedAt(g) > submittedAt(urgent)).length).toBeGreaterThanOrEqual(14 - 2 - 4 - 1);
    } finally {
      await db.backend.update({ where: { id: backendIdFor(beta.url) }, data: { draining: false, drainedAt: null } });
      await waitFor(async () => !(await drainState(beta)), 'beta to take jobs again', 10_000);
    }
  });

  it('when a backend is drained, then it finishes the job it holds and gets no new one until undrained', async () => {
    const long = await render({ checkpoint: 'alpha.safetensors' }, 60);
    // Started there and not rendered yet (its ticks are stored at most once a second: the attempt's start tells).
    await waitFor(() => db.generationJob.findFirst({ where: { id: long, stage: 'submitted', attempts: { some: { startedAt: { not: null } } } } }), 'the long job to run on alpha');
    await db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { draining: true, drainedAt: new Date() } });
    const anywhere = await Promise.all([render({}), render({}), render({})]);
    const needsAlpha = await render({ checkpoint: 'alpha.safetensors' });
    const rendered = await Promise.all(anywhere.map(settled));
    expect(rendered.map((g) => g.backend)).toEqual([beta.url, beta.url, beta.url]);
    expect((await settled(long)).stage).toBe('rendered');
    // Only alpha can run it: it waits for the drain to end rather than failing or going elsewhere.
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: needsAlpha } })).toMatchObject({ status: 'queued', stage: 'resolved' });
    await db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { draining: false, drainedAt: null } });
    expect(await settled(needsAlpha)).toMatchObject({ stage: 'rendered', backend: alpha.url });
  });

  const drainState = async (sim: Simulator) => {
    const text = await (await fetch(`http://127.0.0.1:${service.ops.port()}/metrics`)).text();
    return text.includes(`anime_backend_state{backend="${new URL(sim.url).origin}",state="draining"} 1`);
  };

  it('when a backend is drained in PostgreSQL with no notice, then jobs created right after never get submitted there: the submit itself refuses it', async () => {
    await db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { draining: true, drainedAt: new Date() } });
    // The orchestrator's cached flags may still say alpha takes jobs (read every 2 s): routing may pick it, the submit may not.
    const ids = await Promise.all([render({}), render({}), render({}), render({})]);
    const rendered = await Promise.all(ids.map(settled));
    expect(rendered.map((g) => [g.stage, g.backend])).toEqual(ids.map(() => ['rendered', beta.url]));
    expect(rendered.map((g) => g.attempts.map((a) => a.backend))).toEqual(ids.map(() => [beta.url]));
    expect(ids.map((id) => received(alpha, id))).toEqual([0, 0, 0, 0]);
    await db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { draining: false, drainedAt: null } });
    await waitFor(async () => !(await drainState(alpha)), 'alpha to take jobs again', 10_000);
  });

  it('when the gateway publishes a backend change, then the orchestrator reads the drain flags at once, not at its next periodic read', async () => {
    const publisher = createRedis(TEST_REDIS_URL);
    const control = new JobControlPublisher(publisher, service.ctx.queuePrefix);
    try {
      // Drained with no notice: seen at a periodic read (every 2 s), the next one about 2 s away then.
      await db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { draining: true, drainedAt: new Date() } });
      await waitFor(() => drainState(alpha), 'a periodic read to show alpha draining', 10_000, 5);
      await db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { draining: false, drainedAt: null } });
      const sent = Date.now();
      await control.backendChanged(backendIdFor(alpha.url));
      await waitFor(async () => !(await drainState(alpha)), 'alpha to take jobs again', 5_000, 5);
      expect(Date.now() - sent).toBeLessThan(1_500);
    } finally {
      publisher.disconnect();
    }
  });
});
