import { randomUUID } from 'node:crypto';
import { textToImage, type Simulator } from '@anime/comfyui-simulator';
import { generationRequestBodySchema } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import type { Db } from '@anime/db';
import type { TcpProxy } from '@anime/testing';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * A backend the orchestrator took for down (a partition: no byte goes through, nothing is refused)
 * while it held prompts comes back with its queue as it was. The jobs went on with new attempts;
 * what the backend still holds of the old ones is taken off it, not run for nobody.
 */
describe('prompts abandoned on a backend taken for down (orchestrator in-process, simulator behind a partition)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let simulator: Simulator;
  let proxy: TcpProxy;

  // Each case on a stack of its own: the prompts of one would hold the render slots the next needs.
  /** What the orchestrator logged (info and up), for the moments a test must wait for that leave no other trace. */
  let logged: string[];

  beforeEach(async () => {
    logged = [];
    const log = createLogger('orchestrator', 'info');
    for (const transport of log.transports) transport.silent = true;
    log.on('data', (info: { message: string }) => logged.push(info.message));
    // 150 steps of 200 ms: the first attempts' prompts still run, or wait, when the partition heals.
    fx = await startOrchestratorFixture('abandoned-prompts', { simulators: [{ stepMs: 200 }], proxied: true, env: { BACKEND_PREFETCH: '1' }, log });
    ({ db } = fx);
    [simulator] = fx.simulators;
    [proxy] = fx.proxies;
  });

  afterEach(async () => {
    proxy?.heal();
    // Nothing left running for the stopped orchestrator to go on following (its handlers would hold
    // this process until JOB_TIMEOUT_S): the backend drops every prompt, so each job ends first.
    await fetch(`${simulator.url}/queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clear: true }) });
    await fetch(`${simulator.url}/interrupt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await waitFor(async () => (await fx.service.ctx.queues.byKey.generationRenders.getActiveCount()) === 0, 'the render jobs to end', 20_000);
    await fx?.close();
  });

  const attempts = (id: string) => db.jobAttempt.findMany({ where: { jobId: id }, orderBy: { number: 'asc' } });

  it('when the partition heals, then the prompt that ran is interrupted and the one that waited is taken off too, while the jobs go on with new attempts', async () => {
    const running = await fx.resolvedGeneration({ steps: 150, seed: 1 });
    const waiting = await fx.resolvedGeneration({ steps: 150, seed: 2 });
    const [first] = await waitFor(async () => {
      const a = await attempts(running);
      return a[0]?.startedAt ? a : null;
    }, 'the first prompt to start');
    const [second] = await waitFor(async () => {
      const a = await attempts(waiting);
      return a.length ? a : null;
    }, 'the second prompt to be submitted');
    await waitFor(() => simulator.received.some((p) => p.promptId === second.promptId), 'the second prompt in the backend queue');

    proxy.blackHole();
    // Two probes time out (2 s each): the backend is down, and each job ends its attempt once it is back.
    await waitFor(async () => (await db.backend.findFirst())?.state === 'down', 'the backend to be marked down', 20_000);
    proxy.heal();

    const reopened = await waitFor(async () => {
      const [a, b] = await Promise.all([attempts(running), attempts(waiting)]);
      return a.length === 2 && b.length === 2 ? { a, b } : null;
    }, 'both jobs to open their second attempt', 20_000);
    expect(reopened.a[0]).toMatchObject({ promptId: first.promptId, error: { code: 'backend_lost' } });
    expect(reopened.b[0]).toMatchObject({ promptId: second.promptId, error: { code: 'backend_lost' } });

    // The running one is interrupted. The waiting one is deleted from the queue, or interrupted in
    // turn if it began to run before its job ended its attempt (each job does so on its own).
    const takenOff = (promptId: string) =>
      simulator.controls.some((c) => (c.path === '/interrupt' && c.body.prompt_id === promptId) || (c.path === '/queue' && (c.body.delete as string[] | undefined)?.includes(promptId)));
    await waitFor(() => takenOff(first.promptId) && takenOff(second.promptId), 'both abandoned prompts to be taken off', 15_000);
    expect(simulator.controls.some((c) => c.path === '/interrupt' && c.body.prompt_id === first.promptId)).toBe(true);
    // The new attempts' prompts are left to run.
    const newIds = [reopened.a[1].promptId, reopened.b[1].promptId];
    expect(newIds.filter(takenOff)).toEqual([]);
    // Neither old prompt runs to its end: each is in history as interrupted, or never ran.
    await waitFor(async () => {
      const queue = (await (await fetch(`${simulator.url}/queue`)).json()) as { queue_running: unknown[][]; queue_pending: unknown[][] };
      const held = [...queue.queue_running, ...queue.queue_pending].map((item) => item[1]);
      return !held.includes(first.promptId) && !held.includes(second.promptId);
    }, 'the backend to hold neither abandoned prompt');
    for (const { promptId } of [first, second]) {
      const entry = ((await (await fetch(`${simulator.url}/history/${promptId}`)).json()) as Record<string, { status: { status_str: string; messages: [string, unknown][] } }>)[promptId];
      if (entry) expect(entry.status.messages.map(([type]) => type)).toContain('execution_interrupted');
    }
  }, 60_000);

  it('when a job whose recorded prompt is on a backend now down is picked up (after a restart), then that prompt is taken off once the backend is back', async () => {
    // The prompt an earlier process sent, still running on the backend: queued there straight, not through the proxy.
    const workflow = textToImage({ steps: 150, width: 64, height: 64, seed: 3 });
    const promptId = randomUUID();
    const posted = await fetch(`${simulator.url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: workflow, prompt_id: promptId, client_id: 'an-earlier-process' }) });
    expect(posted.status).toBe(200);
    proxy.blackHole();
    await waitFor(async () => (await db.backend.findFirst())?.state === 'down', 'the backend to be marked down', 20_000);
    // The generation as that process recorded it: submitted on the backend, under that prompt id.
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'on a rooftop', steps: 150, width: 64, height: 64, seed: 3 });
    const resolution = { characterId: fx.character.id, characterVersionId: fx.character.versionId, conditioning: { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null } };
    const { job } = await fx.lifecycle.create({ body, source: 'test', resolution });
    const backend = (await db.backend.findFirstOrThrow()).url;
    await fx.lifecycle.submit(job.id, { backend, promptId, workflow });
    await fx.service.ctx.queues.enqueueStage({ ...job, stage: 'submitted' });
    // Healed only once the job found its backend down (were it up, the job would follow the prompt there).
    await waitFor(() => logged.includes('job waits for a backend'), 'the job to wait for its backend');
    proxy.heal();

    await waitFor(async () => (await attempts(job.id)).length === 2, 'a second attempt once the backend is back', 20_000);
    await waitFor(() => simulator.controls.some((c) => c.path === '/interrupt' && c.body.prompt_id === promptId), 'the recorded prompt to be interrupted', 15_000);
    expect((await attempts(job.id))[0]).toMatchObject({ promptId, error: { code: 'backend_lost' } });
  }, 60_000);
});
