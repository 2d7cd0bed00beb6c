import { textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createLogger } from '@anime/logger';
import type { Db } from '@anime/db';
import type { TcpProxy } from '@anime/testing';
import { waitFor } from '@anime/testing';
import { queuedByAnEarlierProcess } from './earlier-prompt';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * The backends are probed (and what was abandoned on them swept) every 500 ms here, not 2 s: a
 * backend back up is found so, and its abandoned prompts taken off, sooner. Each probe keeps its
 * own 2 s bound, so a cut-off backend is taken for down as in production.
 */
const timings = { probeEveryMs: 500 };

/**
 * The simulators drop every prompt, straight (not through the proxies), and the render jobs end:
 * nothing is left running when the orchestrator stops (no 2 s grace and hand-back to wait for).
 * A global clear and interrupt, not prompt by prompt: a cleanup by prompt id left a render active
 * past 20 s in a full CI run.
 */
/** Whether the simulator was asked to interrupt the prompt or delete it from its queue. */
function takenOff(simulator: Simulator, promptId: string): boolean {
  return simulator.controls.some((c) => (c.path === '/interrupt' && c.body.prompt_id === promptId) || (c.path === '/queue' && (c.body.delete as string[] | undefined)?.includes(promptId)));
}

async function endEveryJob(fx: OrchestratorFixture, simulators: Simulator[]): Promise<void> {
  for (const simulator of simulators) {
    await fetch(`${simulator.url}/queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clear: true }) });
    await fetch(`${simulator.url}/interrupt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  }
  await waitFor(async () => (await fx.service.ctx.queues.byKey.generationRenders.getActiveCount()) === 0, 'the render jobs to end', 20_000);
}

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
    fx = await startOrchestratorFixture('abandoned-prompts', { simulators: [{ stepMs: 200 }], proxied: true, env: { BACKEND_PREFETCH: '1' }, log, timings });
    ({ db } = fx);
    [simulator] = fx.simulators;
    [proxy] = fx.proxies;
  });

  afterEach(async () => {
    proxy?.heal();
    if (fx) await endEveryJob(fx, [simulator]);
    await fx?.close();
  });

  const attempts = (id: string) => db.jobAttempt.findMany({ where: { jobId: id }, orderBy: { number: 'asc' } });

  it('when the partition heals, then the prompt that ran is interrupted and the one that waited is taken off too, while the jobs go on with new attempts', async () => {
    // The second generation is handed over only once the first one's prompt runs: handed over
    // together, the two jobs race to the backend, and under load the second one's prompt could be
    // the one that runs (for 30 s) while the first one's waits.
    const running = await fx.resolvedGeneration({ steps: 150, seed: 1 });
    const [first] = await waitFor(async () => {
      const a = await attempts(running);
      return a[0]?.startedAt ? a : null;
    }, 'the first prompt to start');
    const waiting = await fx.resolvedGeneration({ steps: 150, seed: 2 });
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
    await waitFor(() => takenOff(simulator, first.promptId) && takenOff(simulator, second.promptId), 'both abandoned prompts to be taken off', 15_000);
    expect(simulator.controls.some((c) => c.path === '/interrupt' && c.body.prompt_id === first.promptId)).toBe(true);
    // The new attempts' prompts are left to run.
    const newIds = [reopened.a[1].promptId, reopened.b[1].promptId];
    expect(newIds.filter((id) => takenOff(simulator, id))).toEqual([]);
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
    const promptId = await queuedByAnEarlierProcess(simulator.url, workflow);
    proxy.blackHole();
    await waitFor(async () => (await db.backend.findFirst())?.state === 'down', 'the backend to be marked down', 20_000);
    // The generation as that process recorded it: submitted on the backend, under that prompt id.
    const job = await fx.createdGeneration({ steps: 150, seed: 3 });
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

/**
 * What one orchestrator left on a backend it took for down is still taken off it when another
 * orchestrator (this one restarted) runs by the time the backend comes back: the attempts ended as
 * backend_lost in PostgreSQL name those prompts.
 */
describe('prompts abandoned by an orchestrator that restarted before the backend came back (two simulators; only the one holding the prompt is cut off)', () => {
  let fx: OrchestratorFixture;
  let db: Db;

  beforeEach(async () => {
    // 150 steps of 200 ms: the abandoned prompt still runs when the partition heals.
    fx = await startOrchestratorFixture('abandoned-restart', { simulators: [{ stepMs: 200 }, { stepMs: 200 }], proxied: true, env: { BACKEND_PREFETCH: '1' }, timings });
    ({ db } = fx);
  });

  afterEach(async () => {
    for (const proxy of fx?.proxies ?? []) proxy.heal();
    if (fx) await endEveryJob(fx, fx.simulators);
    await fx?.close();
  });

  const attempts = (id: string) => db.jobAttempt.findMany({ where: { jobId: id }, orderBy: { number: 'asc' } });

  it('when the orchestrator restarts while the backend it left a prompt on is cut off, then the new one takes that prompt off once the backend is back', async () => {
    const jobId = await fx.resolvedGeneration({ steps: 150, seed: 4 });
    const [first] = await waitFor(async () => {
      const a = await attempts(jobId);
      return a[0]?.startedAt ? a : null;
    }, 'the prompt to start');
    // The backend that took the prompt (A) is cut off; the other (B) stays reachable.
    const behind = (backend: string) => fx.proxies.findIndex((p) => new URL(backend).port === String(p.port));
    const a = behind(first.backend);
    const [simulatorA, simulatorB] = [fx.simulators[a], fx.simulators[1 - a]];
    fx.proxies[a].blackHole();
    const [, second] = await waitFor(async () => {
      const all = await attempts(jobId);
      return all.length === 2 ? all : null;
    }, 'the job to go on on the other backend', 20_000);
    expect((await attempts(jobId))[0]).toMatchObject({ promptId: first.promptId, error: { code: 'backend_lost' } });
    expect(behind(second.backend)).toBe(1 - a);

    // The job ends on B before the orchestrator stops (nothing in flight to hand back; A keeps its
    // prompt); the new orchestrator starts with A still cut off, and only then does A answer again.
    await endEveryJob(fx, [simulatorB]);
    const interruptedOnB = simulatorB.controls.length;
    await fx.restart();
    fx.proxies[a].heal();

    await waitFor(() => takenOff(simulatorA, first.promptId), 'the restarted orchestrator to take the abandoned prompt off the backend back up', 10_000);
    await waitFor(async () => {
      const queue = (await (await fetch(`${simulatorA.url}/queue`)).json()) as { queue_running: unknown[][]; queue_pending: unknown[][] };
      return ![...queue.queue_running, ...queue.queue_pending].some((item) => item[1] === first.promptId);
    }, 'backend A to hold the abandoned prompt no more');
    // Nothing was sent to B after the test's own clearing: only A's abandoned prompt is taken off.
    expect(simulatorB.controls.length).toBe(interruptedOnB);
  }, 45_000);
});

/**
 * A job whose only backend is cut off fails (JOB_TIMEOUT_S) while it waits for a backend: its attempt
 * ends with the job's own error, not backend_lost, and its prompt is still on that backend. An
 * orchestrator that restarted before the backend came back still takes it off.
 */
describe('a prompt left by a job that failed while its only backend was cut off, taken off by a restarted orchestrator', () => {
  let fx: OrchestratorFixture;

  beforeEach(async () => {
    // 150 steps of 200 ms: the prompt still runs when the partition heals.
    fx = await startOrchestratorFixture('abandoned-timeout', { simulators: [{ stepMs: 200 }], proxied: true, env: { JOB_TIMEOUT_S: '8' }, timings });
  });

  afterEach(async () => {
    for (const proxy of fx?.proxies ?? []) proxy.heal();
    if (fx) await endEveryJob(fx, fx.simulators);
    await fx?.close();
  });

  it('when the job times out while the backend is cut off and the orchestrator restarts, then the new one takes the prompt off once the backend is back', async () => {
    const [simulator] = fx.simulators;
    const jobId = await fx.resolvedGeneration({ steps: 150, seed: 5 });
    const first = await waitFor(async () => (await fx.db.jobAttempt.findFirst({ where: { jobId, startedAt: { not: null } } })) ?? null, 'the prompt to start');
    fx.proxies[0].blackHole();
    const failed = await waitFor(async () => (await fx.db.generationJob.findFirst({ where: { id: jobId, status: 'failed' } })) ?? null, 'the job to fail', 30_000);
    expect(failed.errorCode).toBe('timeout');
    const ended = await fx.db.jobAttempt.findUniqueOrThrow({ where: { id: first.id } });
    expect(ended.finishedAt).not.toBeNull();
    expect(ended.error).toMatchObject({ code: 'timeout' });

    await fx.restart();
    fx.proxies[0].heal();
    await waitFor(() => takenOff(simulator, first.promptId), 'the restarted orchestrator to take the prompt off the backend back up', 10_000);
  }, 60_000);
});
