import { textToImage, type Simulator } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createRedis, JobControlPublisher } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { DEFAULT_STOP_GRACE_MS } from '../src/domain/take-prompt-off';
import { queuedByAnEarlierProcess } from './earlier-prompt';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';
import { setBackendDraining } from './set-backend-draining';

/** The orchestrator's /metrics text. */
const metrics = async (fx: OrchestratorFixture) => (await fetch(`http://127.0.0.1:${fx.service.ops.port()}/metrics`)).text();

/**
 * The grace an interrupted prompt is given here (production's is 15 s): the hung worker holds its
 * prompt until the test releases it, so it outlasts any grace; a shorter one only ends the wait sooner.
 * The backends are probed (and the stuck flags read) every 500 ms, not 2 s: what a tick finds, found sooner.
 */
const timings = { stopGraceMs: 2_000, probeEveryMs: 500 };

/** What the gateway does to cancel a generation in a backend: the column, then the message. */
async function cancel(fx: OrchestratorFixture, id: string): Promise<void> {
  const publisher = createRedis(TEST_REDIS_URL);
  try {
    expect(await fx.lifecycle.requestCancel(id)).toBeTruthy();
    await new JobControlPublisher(publisher, fx.service.ctx.queuePrefix).requestCancel(id);
  } finally {
    publisher.disconnect();
  }
}

/**
 * With `other` draining (so the jobs go to `stuck`), `stuck`'s worker hung, and a generation's
 * prompt running there, never to end: the generation's id and its attempt. `other` is left draining.
 */
async function promptHungOn(fx: OrchestratorFixture, stuck: Simulator, other: Simulator) {
  await setBackendDraining(fx, other, true);
  stuck.hangWorker();
  const hung = await fx.resolvedGeneration({ steps: 2 });
  const attempt = await waitFor(() => fx.db.jobAttempt.findFirst({ where: { jobId: hung, startedAt: { not: null } } }), `the hung prompt to start on ${stuck.url}`);
  return { hung, attempt };
}

/** A generation whose prompt waits in `stuck`'s queue, behind the hung one: its id and its attempt there. */
async function waitingBehindOn(fx: OrchestratorFixture, stuck: Simulator) {
  const behind = await fx.resolvedGeneration({ steps: 2 });
  const waiting = await waitFor(() => fx.db.jobAttempt.findFirst({ where: { jobId: behind, backend: stuck.url } }), `the second job to wait in the queue of ${stuck.url}`);
  return { behind, waiting };
}

/**
 * A node that does not return, or ComfyUI's worker thread dead while HTTP answers
 * (comfyui-protocol.md §10): the prompt stays running through its interrupt and nothing queued
 * behind it runs. The backend is taken for down once an interrupt of ours is ignored, the jobs
 * waiting there go to another backend, and it takes prompts again once ComfyUI lets go.
 */
describe('a backend whose worker is stuck (in-process, two simulators)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let alpha: Simulator;
  let beta: Simulator;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('stuck-backend', { simulators: [{ stepMs: 20 }, { stepMs: 20 }], timings });
    ({ db } = fx);
    [alpha, beta] = fx.simulators;
  });

  afterAll(async () => {
    alpha?.releaseWorker();
    await fx?.close();
  });

  const promptsFor = (sim: Simulator, id: string) => sim.received.filter((p) => JSON.stringify(p.prompt).includes(id)).length;

  it('when a prompt goes on running past its interrupt, then the backend is recorded down saying so, the job waiting behind it there renders on the other, and new jobs avoid it until ComfyUI lets go', async () => {
    // Both jobs go to alpha: beta takes none while it drains.
    const { hung } = await promptHungOn(fx, alpha, beta);
    const { behind } = await waitingBehindOn(fx, alpha);
    await setBackendDraining(fx, beta, false);

    const canceledAt = Date.now();
    await cancel(fx, hung);
    // The interrupt is ignored: after the grace (not before) the job is canceled, and alpha is taken for down.
    const canceled = await waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id: hung } });
      return g.status === 'canceled' ? g : null;
    }, 'the hung job to be canceled', 25_000);
    expect(canceled.errorCode).toBe('canceled');
    // The grace given is the one the orchestrator was started with, not production's.
    const waited = Date.now() - canceledAt;
    expect(waited).toBeGreaterThanOrEqual(timings.stopGraceMs);
    expect(waited).toBeLessThan(DEFAULT_STOP_GRACE_MS);
    const row = await waitFor(() => db.backend.findFirst({ where: { id: backendIdFor(alpha.url), state: 'down' } }), 'alpha to be recorded down', 5_000);
    expect(row.lastError).toMatch(/^ComfyUI's worker is stuck: prompt \S+ went on running after it was interrupted/);
    // Operators tell it from a backend that does not answer: down, and stuck (anime_backend_stuck, which the alert rules read).
    const scraped = await metrics(fx);
    expect(scraped).toContain(`anime_backend_state{backend="${new URL(alpha.url).origin}",state="down"} 1`);
    expect(scraped).toContain(`anime_backend_stuck{backend="${new URL(alpha.url).origin}"} 1`);
    expect(scraped).toContain(`anime_backend_stuck{backend="${new URL(beta.url).origin}"} 0`);

    // The job that waited behind the hung prompt renders on beta, its alpha attempt ended as lost.
    const moved = await waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id: behind }, include: { attempts: { orderBy: { number: 'asc' } } } });
      return g.stage === 'rendered' ? g : null;
    }, 'the job behind it to render elsewhere', 10_000);
    expect(moved.attempts.map((a) => [a.backend, (a.error as { code?: string } | null)?.code ?? null])).toEqual([[alpha.url, 'backend_stuck'], [beta.url, null]]);
    // Taken off alpha's queue meanwhile: it would run there once the worker goes on.
    await waitFor(async () => !(await (await fetch(`${alpha.url}/queue`)).text()).includes(moved.attempts[0].promptId), 'the moved prompt to be taken off alpha', 10_000);

    const fresh = await Promise.all([fx.resolvedGeneration({ steps: 2 }), fx.resolvedGeneration({ steps: 2 }), fx.resolvedGeneration({ steps: 2 })]);
    for (const id of fresh) await waitFor(async () => (await db.generationJob.findUniqueOrThrow({ where: { id } })).stage === 'rendered' || null, `job ${id} to render`, 10_000);
    expect(fresh.map((id) => promptsFor(alpha, id))).toEqual([0, 0, 0]);

    // ComfyUI lets go (the node returns, and honours the interrupt): alpha takes jobs again.
    alpha.releaseWorker();
    await waitFor(() => db.backend.findFirst({ where: { id: backendIdFor(alpha.url), state: 'up', lastError: null } }), 'alpha to be recorded up again', 10_000);
    expect(await metrics(fx)).toContain(`anime_backend_stuck{backend="${new URL(alpha.url).origin}"} 0`);
    await setBackendDraining(fx, beta, true);
    const after = await fx.resolvedGeneration({ steps: 2 });
    await waitFor(async () => (await db.generationJob.findUniqueOrThrow({ where: { id: after } })).stage === 'rendered' || null, 'a job to render on alpha again', 10_000);
    expect(promptsFor(alpha, after)).toBe(1);
    await setBackendDraining(fx, beta, false);
  });

  it('when the stuck backend is the only one taking the job, then its prompt is taken off there while it waits, and does not run there once ComfyUI lets go', async () => {
    const { hung } = await promptHungOn(fx, alpha, beta);
    const { behind, waiting } = await waitingBehindOn(fx, alpha);
    await cancel(fx, hung);
    await waitFor(() => db.backend.findFirst({ where: { id: backendIdFor(alpha.url), state: 'down' } }), 'alpha to be recorded down', 25_000);

    // Beta still drains: the job waits for a place, its attempt on alpha open, but its prompt is
    // taken off alpha at once. Left there, it ran as soon as alpha let go, ahead of the job's new attempt.
    await waitFor(async () => !(await (await fetch(`${alpha.url}/queue`)).text()).includes(waiting.promptId), 'the waiting job\'s prompt to be taken off alpha', 10_000);
    alpha.releaseWorker();
    await waitFor(async () => (await db.generationJob.findUniqueOrThrow({ where: { id: behind } })).stage === 'rendered' || null, 'the waiting job to render', 15_000);
    expect(await (await fetch(`${alpha.url}/history/${waiting.promptId}`)).json()).toEqual({});
    await setBackendDraining(fx, beta, false);
  });
});

/** Two orchestrators share the backends: the one whose prompt was ignored records it, the other reads it. */
describe('a stuck backend seen by another orchestrator (in-process, two simulators)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let alpha: Simulator;
  let beta: Simulator;
  let other: BackendPool | undefined;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('stuck-shared', { simulators: [{ stepMs: 20 }, { stepMs: 20 }], timings });
    ({ db } = fx);
    [alpha, beta] = fx.simulators;
  });

  afterAll(async () => {
    alpha?.releaseWorker();
    await other?.close();
    await fx?.close();
  });

  it('when one orchestrator finds a backend stuck, then another sharing the database takes it for down within a probe tick, keeps its row down, and takes it up again once ComfyUI lets go', async () => {
    // The other orchestrator's pool: what routes its jobs.
    other = new BackendPool({ urls: [alpha.url, beta.url], db, log: createLogger('orchestrator', 'error'), probeEveryMs: 300 });
    await other.start();
    const { hung, attempt } = await promptHungOn(fx, alpha, beta);
    await setBackendDraining(fx, beta, false);
    await cancel(fx, hung);

    const row = await waitFor(() => db.backend.findFirst({ where: { id: backendIdFor(alpha.url), stuckPromptId: { not: null } } }), 'alpha to be recorded stuck', 25_000);
    expect(row.stuckPromptId).toBe(attempt.promptId);
    await waitFor(() => other!.stateOf(alpha.url) === 'down' || null, 'the other orchestrator to take alpha for down', 5_000);
    // Its probes write alpha's row as the first one does: down, saying why.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await db.backend.findUniqueOrThrow({ where: { id: backendIdFor(alpha.url) } })).toMatchObject({ state: 'down', lastError: expect.stringMatching(/^ComfyUI's worker is stuck/) });

    alpha.releaseWorker();
    await waitFor(() => other!.stateOf(alpha.url) === 'up' || null, 'the other orchestrator to take alpha up again', 10_000);
    await waitFor(() => db.backend.findFirst({ where: { id: backendIdFor(alpha.url), stuckPromptId: null, state: 'up' } }), 'alpha\'s row to be up and not stuck', 10_000);
  });
});

/**
 * A job picked up with its attempt open on a backend that is stuck (after a restart, or by another
 * replica once its process died): as when the backend is found stuck under it, its prompt is taken
 * off there at once, not left to run once ComfyUI lets go while the job waits for a place.
 */
describe('a job picked up while its recorded prompt waits on a stuck backend (in-process, one simulator)', () => {
  let fx: OrchestratorFixture;
  let alpha: Simulator;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('stuck-pickup', { simulators: [{ stepMs: 20 }], timings });
    [alpha] = fx.simulators;
  });

  afterAll(async () => {
    alpha?.releaseWorker();
    await fx?.close();
  });

  const queueText = async () => (await fetch(`${alpha.url}/queue`)).text();
  /** Alpha's worker hung, running a prompt an earlier process queued there (made with `seed`): its prompt id. */
  const hungPrompt = async (seed: number) => {
    alpha.hangWorker();
    const hung = await queuedByAnEarlierProcess(alpha.url, textToImage({ steps: 2, width: 64, height: 64, seed }));
    await waitFor(async () => ((await (await fetch(`${alpha.url}/queue`)).json()) as { queue_running: unknown[][] }).queue_running.some((item) => item[1] === hung) || null, 'the hung prompt to run');
    return hung;
  };
  /** A job as an earlier process left it (made with `seed`): submitted on alpha, its prompt queued there, the job handed to the render queue. */
  const submittedByAnEarlierProcess = async (seed: number) => {
    const workflow = textToImage({ steps: 2, width: 64, height: 64, seed });
    const promptId = await queuedByAnEarlierProcess(alpha.url, workflow);
    const job = await fx.createdGeneration({ steps: 2, seed });
    await fx.lifecycle.submit(job.id, { backend: alpha.url, promptId, workflow });
    await fx.service.ctx.queues.enqueueStage({ ...job, stage: 'submitted' });
    return { job, promptId };
  };
  /** Once alpha lets go, the job rendered: its first attempt, the one on alpha. */
  const firstAttemptOnceAlphaLetsGo = async (jobId: string) => {
    alpha.releaseWorker();
    const rendered = await waitFor(async () => {
      const g = await fx.db.generationJob.findUniqueOrThrow({ where: { id: jobId }, include: { attempts: { orderBy: { number: 'asc' } } } });
      return g.stage === 'rendered' ? g : null;
    }, 'the job to render once alpha lets go', 15_000);
    return rendered.attempts[0];
  };

  it('when its backend is stuck, then its attempt ends as backend_stuck and its prompt is taken off there while the job waits, never running there', async () => {
    const hung = await hungPrompt(11);
    // As another orchestrator recorded it: this one takes alpha for down at its next read of the flags.
    await fx.db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { stuckPromptId: hung, stuckSince: new Date() } });
    await waitFor(() => fx.db.backend.findFirst({ where: { id: backendIdFor(alpha.url), state: 'down' } }), 'alpha to be taken for down', 10_000);

    // The job as an earlier process left it: submitted on alpha, its prompt waiting behind the hung one.
    const { job, promptId } = await submittedByAnEarlierProcess(12);

    await waitFor(async () => !(await queueText()).includes(promptId), "the job's prompt to be taken off alpha while the job waits", 10_000);
    expect(await firstAttemptOnceAlphaLetsGo(job.id)).toMatchObject({ promptId, error: { code: 'backend_stuck' } });
    expect(await (await fetch(`${alpha.url}/history/${promptId}`)).json()).toEqual({});
    await fx.db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { stuckPromptId: null, stuckSince: null } });
  });

  it('when its backend is found stuck while the job follows its recorded prompt there, then that attempt ends as backend_stuck, not backend_lost', async () => {
    await waitFor(() => fx.db.backend.findFirst({ where: { id: backendIdFor(alpha.url), state: 'up', stuckPromptId: null } }), 'alpha to be up', 10_000);
    const hung = await hungPrompt(21);
    const { job, promptId } = await submittedByAnEarlierProcess(22);
    // Alpha is up: the job follows its prompt there, waiting behind the hung one.
    await waitFor(async () => (await fx.service.ctx.queues.byKey.generationRenders.getActiveCount()) === 1 || null, 'the job to be picked up');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await fx.db.backend.update({ where: { id: backendIdFor(alpha.url) }, data: { stuckPromptId: hung, stuckSince: new Date() } });

    await waitFor(async () => !(await queueText()).includes(promptId), "the job's prompt to be taken off alpha", 10_000);
    expect(await firstAttemptOnceAlphaLetsGo(job.id)).toMatchObject({ promptId, error: { code: 'backend_stuck' } });
  });
});

/**
 * A prompt left on a backend taken for down (a partition) is interrupted once the backend is back
 * (AbandonedPrompts). One that goes on running past that interrupt holds the backend as a job's own
 * would: it is taken for down, stuck, not left up with every prompt sent there waiting behind it.
 */
describe('an abandoned prompt that ignores its interrupt (in-process, two simulators behind proxies)', () => {
  let fx: OrchestratorFixture;
  let alpha: Simulator;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('stuck-abandoned', { simulators: [{ stepMs: 20 }, { stepMs: 20 }], proxied: true, timings });
    [alpha] = fx.simulators;
  });

  afterAll(async () => {
    for (const proxy of fx?.proxies ?? []) proxy.heal();
    alpha?.releaseWorker();
    await fx?.close();
  });

  it('when the backend comes back running the abandoned prompt through its interrupt, then it is recorded stuck on it, and up again once ComfyUI lets go', async () => {
    // As COMFYUI_URLS names it (and the orchestrator records it): no trailing slash.
    const alphaUrl = fx.proxies[0].urlFor(alpha.url).replace(/\/$/, '');
    const alphaId = backendIdFor(alphaUrl);
    alpha.hangWorker();
    const workflow = textToImage({ steps: 2, width: 64, height: 64, seed: 31 });
    const hung = await queuedByAnEarlierProcess(alpha.url, workflow);
    await waitFor(async () => ((await (await fetch(`${alpha.url}/queue`)).json()) as { queue_running: unknown[][] }).queue_running.some((item) => item[1] === hung) || null, 'the hung prompt to run');
    fx.proxies[0].blackHole();
    await waitFor(() => fx.db.backend.findFirst({ where: { id: alphaId, state: 'down' } }), 'alpha to be taken for down', 20_000);

    // The job as an earlier process left it, its prompt the hung one: it goes on on beta, abandoning the prompt.
    const job = await fx.createdGeneration({ steps: 2, seed: 31 });
    await fx.lifecycle.submit(job.id, { backend: alphaUrl, promptId: hung, workflow });
    await fx.service.ctx.queues.enqueueStage({ ...job, stage: 'submitted' });
    await waitFor(async () => (await fx.db.generationJob.findUniqueOrThrow({ where: { id: job.id } })).stage === 'rendered' || null, 'the job to render on beta', 15_000);

    fx.proxies[0].heal();
    await waitFor(() => alpha.controls.some((c) => c.path === '/interrupt' && c.body.prompt_id === hung) || null, 'the abandoned prompt to be interrupted', 15_000);
    const row = await waitFor(() => fx.db.backend.findFirst({ where: { id: alphaId, stuckPromptId: hung, state: 'down' } }), 'alpha to be recorded stuck on it', 25_000);
    expect(row.lastError).toMatch(/^ComfyUI's worker is stuck: prompt \S+ went on running after it was interrupted/);

    alpha.releaseWorker();
    await waitFor(() => fx.db.backend.findFirst({ where: { id: alphaId, stuckPromptId: null, state: 'up' } }), 'alpha to be up again, not stuck', 10_000);
  });
});
