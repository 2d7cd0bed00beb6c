import { loadGeneration } from '@anime/pipeline';
import { startSimulatorProcess, type SimulatorProcess } from '@anime/stack';
import { waitFor } from '@anime/testing';
import { expectCompletedOnce } from './expect-completed-once';
import { recordJobEvents } from './socket-recorder';
import { untilPromptRuns } from './prompt-running';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

interface BackendItem { id: string; url: string; state: string; jobsDone: number; lastError: string | null; checkpoints: string[]; loras: string[] }

/** Two simulators as processes of their own, so one can be killed mid-prompt like a crashed ComfyUI. */
describe('backend pool: a backend killed mid-prompt, and every backend down', () => {
  let fx: StackFixture;
  let simulators: SimulatorProcess[];

  beforeAll(async () => {
    // Both have the demo's default checkpoint (Kai names none); each also has one the other lacks.
    simulators = [
      await startSimulatorProcess({ stepMs: 40, checkpoints: ['anime-v1.safetensors', 'alpha-only.safetensors'] }, 'sim-a'),
      await startSimulatorProcess({ stepMs: 40, checkpoints: ['anime-v1.safetensors', 'beta-only.safetensors'], loras: [] }, 'sim-b'),
    ];
    fx = await startStackFixture('backend-failover', { comfyUrls: simulators.map((s) => s.url) });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
    await Promise.all((simulators ?? []).map((s) => s.process.stop()));
  });

  const backends = async () => (await fx.api.get('/api/v1/backends')).data.items as BackendItem[];
  const stateOf = async (url: string) => (await backends()).find((b) => b.url === url)?.state;
  const orchestratorReady = async () => (await fetch(fx.stack.readyUrls.orchestrator)).status;

  it('when both simulators run, then GET /api/v1/backends shows both up', async () => {
    const items = await backends();
    expect(items.map((b) => [b.url, b.state]).sort()).toEqual(simulators.map((s) => [s.url, 'up']).sort());
    expect(new Set(items.map((b) => b.id)).size).toBe(2);
  });

  it('when characters need a checkpoint only one simulator has, then each job lands there; one nobody has renders with the chosen backend\'s first (CONTRACT: checkpoint choice); a LoRA nobody has fails at once naming it', async () => {
    const character = async (slug: string, definition: Record<string, unknown>) =>
      expect((await fx.api.post('/api/v1/characters', { name: slug, slug, definition: { displayName: slug, ...definition } })).status).toBe(201);
    await character('uses-alpha', { checkpoint: 'alpha-only.safetensors' });
    await character('uses-beta', { checkpoint: 'beta-only.safetensors' });
    await character('uses-gamma', { checkpoint: 'gamma.safetensors' });
    await character('uses-delta-lora', { loras: [{ name: 'delta-nobody.safetensors', weight: 0.8 }] });
    const post = async (slug: string) => (await fx.api.post('/api/v1/generations', { character: slug, prompt: 'portrait', steps: 2 })).data.id as string;
    const [a, b, g, d] = await Promise.all([post('uses-alpha'), post('uses-beta'), post('uses-gamma'), post('uses-delta-lora')]);
    const [onA, onB, fallback, none] = await Promise.all([a, b, g, d].map((id) => waitForGenerationEnd(fx, id, 30_000)));
    expect([onA.status, onA.backend, onB.status, onB.backend]).toEqual(['completed', simulators[0].url, 'completed', simulators[1].url]);
    // Both simulators list anime-v1.safetensors first: the missing name is never sent to ComfyUI.
    expect(fallback.status).toBe('completed');
    const graph = (await loadGeneration(fx.db, g))!.workflow as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    expect(Object.values(graph).filter((node) => node.class_type === 'CheckpointLoaderSimple').map((node) => node.inputs.ckpt_name)).toEqual(['anime-v1.safetensors']);
    expect(none).toMatchObject({ status: 'failed', error: { code: 'no_capable_backend', message: expect.stringContaining('LoRA "delta-nobody.safetensors"') }, attempts: [] });
    expect((await backends()).find((item) => item.url === simulators[1].url)).toMatchObject({ checkpoints: ['anime-v1.safetensors', 'beta-only.safetensors'], loras: [] });
  });

  it('when the simulator running a prompt is killed, then it is marked down within 10 s and the job completes once on the other as attempt 2, attempt 1 carrying the error', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'a backend dies under me', steps: 100 });
    expect(res.status).toBe(202);
    const socket = await recordJobEvents(fx.stack.gatewayUrl, res.data.id, fx.apiKey);
    const running = await untilPromptRuns(fx, res.data.id);
    const victim = simulators.find((s) => s.url === running.backend)!;
    const survivor = simulators.find((s) => s !== victim)!;

    const killedAt = Date.now();
    await victim.process.stop('SIGKILL');
    await waitFor(async () => (await stateOf(victim.url)) === 'down', 'the killed backend to show down', 10_000, 200);
    expect(Date.now() - killedAt).toBeLessThan(10_000);

    const done = await expectCompletedOnce(fx, res.data.id);
    expect(done.backend).toBe(survivor.url);
    const resource = (await fx.api.get(`/api/v1/generations/${res.data.id}`)).data;
    expect(resource.attempts.map((a: { number: number; backend: string; error: { code: string } | null }) => [a.number, a.backend, a.error?.code ?? null])).toEqual([
      [1, victim.url, 'backend_lost'],
      [2, survivor.url, null],
    ]);
    expect(resource.attempts[1]).toMatchObject({ submittedAt: expect.any(String), startedAt: expect.any(String), finishedAt: expect.any(String) });

    await socket.ended();
    socket.close();
    const names = socket.events.map((e) => e.name);
    const retrying = names.indexOf('job:retrying');
    expect(retrying).toBeGreaterThan(names.indexOf('job:started'));
    expect(names.filter((n) => n === 'job:retrying')).toHaveLength(1);
    expect(socket.events[retrying].payload).toMatchObject({ attempt: 2, reason: expect.stringContaining('backend_lost') });
    // After it: the new attempt is submitted and started before any progress, then the one terminal event.
    expect(names.slice(retrying + 1).filter((n) => n !== 'job:progress')).toEqual(['job:submitted', 'job:started', 'job:completed']);
    expect(socket.events[retrying + 1].payload).toMatchObject({ backend: survivor.url, attempt: 2 });

    await victim.process.start();
    await waitFor(async () => (await stateOf(victim.url)) === 'up', 'the restarted backend to show up', 15_000, 200);
  }, 120_000);

  it('when every backend is down, then the orchestrator is not ready and jobs wait, and complete once a backend returns', async () => {
    await Promise.all(simulators.map((s) => s.process.stop('SIGKILL')));
    await waitFor(async () => (await orchestratorReady()) === 503, 'orchestrator /readyz to say 503', 10_000, 200);
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'nobody home yet', steps: 3 });
    expect(res.status).toBe(202);
    // Well past the render stage's retry backoff: it neither fails nor spends tries while it waits.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id } })).status).toBe('queued');
    expect((await backends()).map((b) => b.state)).toEqual(['down', 'down']);

    await simulators[1].process.start();
    const done = await waitForGenerationEnd(fx, res.data.id, 30_000);
    expect(done).toMatchObject({ status: 'completed', backend: simulators[1].url });
    expect(done.attempts).toHaveLength(1);
    expect(await orchestratorReady()).toBe(200);
    await simulators[0].process.start();
  }, 120_000);

  it('when the orchestrator restarts and finds the backend of a running prompt dead, then the job goes on elsewhere as attempt 2', async () => {
    await waitFor(async () => (await backends()).every((b) => b.state === 'up'), 'both backends up again', 15_000, 200);
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'orphaned by a crash', steps: 100 });
    const running = await untilPromptRuns(fx, res.data.id);
    const victim = simulators.find((s) => s.url === running.backend)!;
    await fx.stack.services.orchestrator!.stop('SIGKILL');
    await victim.process.stop('SIGKILL');
    await fx.stack.services.orchestrator!.start();

    const done = await expectCompletedOnce(fx, res.data.id);
    expect(done.backend).not.toBe(victim.url);
    const attempts = await fx.db.jobAttempt.findMany({ where: { jobId: res.data.id }, orderBy: { number: 'asc' } });
    expect(attempts.map((a) => [a.number, (a.error as { code?: string } | null)?.code ?? null])).toEqual([[1, 'backend_lost'], [2, null]]);
    await victim.process.start();
  }, 120_000);
});
