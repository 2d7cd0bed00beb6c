import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { waitFor } from '@anime/testing';
import { queuedByAnEarlierProcess } from './earlier-prompt';
import { setBackendDraining } from './set-backend-draining';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

const LOST_WORDING = 'ComfyUI no longer had the prompt: neither queued, running nor in its history (lost there, as when ComfyUI restarts)';

/**
 * A generation's prompt waits on its backend behind another client's, and ComfyUI drops it (what a
 * restart with an empty queue does to every prompt, here without the backend ever seen down). The
 * follower finds it gone about 1 s after posting (its first look at the queue): a transient fault,
 * so the render is tried again after BullMQ's backoff (1 s), and that try, finding the prompt still
 * not on the backend, makes a new attempt, once a backend takes it. Unless JOB_TIMEOUT_S (from the
 * first submission) ran out meanwhile: then nothing is posted again (the deadline would take it off
 * at once), and the job ends with timeout as a lost prompt's does. So for any prompt of a render
 * posted again: a resumed one its backend lost, or a failover's after its backend went down.
 */
describe('a render whose prompt is gone from its backend, not posted again past JOB_TIMEOUT_S', () => {
  /** The generation's prompt, posted behind another client's prompt that holds the hung worker, then dropped from the queue by the test. */
  async function loseThePrompt(fx: OrchestratorFixture, options: { dropAfter?: (drop: () => Promise<void>, id: string) => Promise<void> } = {}): Promise<{ id: string; ahead: string; promptId: string }> {
    const [sim] = fx.simulators;
    sim.hangWorker();
    const ahead = await queuedByAnEarlierProcess(sim.url, textToImage({ steps: 2, width: 64, height: 64, seed: 5 }));
    await waitFor(async () => ((await (await fetch(`${sim.url}/queue`)).text()).includes(ahead) ? true : null), 'the prompt ahead to run');
    const id = await fx.resolvedGeneration({ steps: 2 });
    const { promptId } = await waitFor(() => fx.db.generationJob.findFirst({ where: { id, stage: 'submitted', promptId: { not: null } } }), 'the prompt to be posted', 10_000, 10);
    await waitFor(async () => ((await (await fetch(`${sim.url}/queue`)).text()).includes(promptId!) ? true : null), 'the prompt to wait in the queue', 10_000, 10);
    // Gone from the queue with no history, as a restart leaves it: by default before the follower's
    // first look at the queue (about 1 s after the post).
    const drop = async () => {
      const dropped = await fetch(`${sim.url}/queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delete: [promptId] }) });
      expect(dropped.status).toBe(200);
    };
    await (options.dropAfter ? options.dropAfter(drop, id) : drop());
    return { id, ahead, promptId: promptId! };
  }

  const attemptsOf = (fx: OrchestratorFixture, id: string) => fx.db.jobAttempt.findMany({ where: { jobId: id }, orderBy: { number: 'asc' } });
  const eventTypes = async (fx: OrchestratorFixture, id: string) => (await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type);
  const settled = (fx: OrchestratorFixture, id: string, what: string) =>
    waitFor(async () => {
      const g = await fx.db.generationJob.findUniqueOrThrow({ where: { id } });
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, what, 30_000);

  describe('while no backend takes jobs until after JOB_TIMEOUT_S', () => {
    let fx: OrchestratorFixture;

    beforeAll(async () => {
      // 4 s: the loss is seen at about 1 s, the retry comes at about 2 s (BullMQ's backoff), and the
      // backend takes jobs again only after the deadline.
      fx = await startOrchestratorFixture('dl-lost-past-deadline', { simulators: [{ stepMs: 20 }], env: { JOB_TIMEOUT_S: '4', JOB_MAX_ATTEMPTS: '3' }, timings: { stopGraceMs: 2_000 } });
    });

    afterAll(async () => {
      fx?.simulators[0]?.releaseWorker();
      await fx?.close();
    });

    it('when the retry finds the prompt lost and waits for a backend past the deadline, then the generation fails with timeout saying the backend no longer had it, and no new prompt or attempt is made', async () => {
      const [sim] = fx.simulators;
      const { id, ahead, promptId } = await loseThePrompt(fx);
      // The backend drains (an operator's drain): the retry, finding the prompt lost, waits for one to take its next attempt.
      await setBackendDraining(fx, sim, true);
      const { startedAt } = await fx.db.generationJob.findUniqueOrThrow({ where: { id } });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt!.getTime() + 4_500 - Date.now())));
      // Past the deadline it takes jobs again, its worker free.
      await setBackendDraining(fx, sim, false);
      sim.releaseWorker();

      const failed = await settled(fx, id, 'the generation to fail');
      // The loss was found by a retry (the first try ended on it), not by the follower's own deadline.
      expect((await fx.service.ctx.queues.byKey.generationRenders.getJob(`render-${id}`))?.attemptsMade).toBe(2);

      const message = `timed out after 4 s (JOB_TIMEOUT_S); nothing was taken off ${sim.url}: ${LOST_WORDING}`;
      expect({ code: failed.errorCode, message: failed.errorMessage }).toEqual({ code: 'timeout', message });
      // Before: once the backend took jobs again a second attempt was recorded (attempt 1 ending
      // backend_error) and its prompt posted, then taken off at once by the timeout.
      expect((await attemptsOf(fx, id)).map((a) => [a.number, a.promptId, a.error])).toEqual([[1, promptId, { code: 'timeout', message }]]);
      expect(sim.received.map((p) => p.promptId)).toEqual([ahead, promptId]);
      // Nothing was taken off: the only control is the test's own drop.
      expect(sim.controls.map((c) => [c.path, c.body])).toEqual([['/queue', { delete: [promptId] }]]);
      expect(await eventTypes(fx, id)).toEqual(['job:queued', 'job:submitted', 'job:failed']);
    });
  });

  describe('resumed by the next orchestrator past JOB_TIMEOUT_S', () => {
    let fx: OrchestratorFixture;

    beforeAll(async () => {
      fx = await startOrchestratorFixture('dl-resumed-past-deadline', { simulators: [{ stepMs: 20 }], env: { JOB_TIMEOUT_S: '3', JOB_MAX_ATTEMPTS: '3' }, timings: { stopGraceMs: 2_000 } });
    });

    afterAll(async () => {
      fx?.simulators[0]?.releaseWorker();
      await fx?.close();
    });

    it('when the orchestrator that posted the prompt stopped, the backend lost it, and the next one resumes it past the deadline, then it is not posted again: the generation fails with timeout saying the backend no longer had it', async () => {
      const [sim] = fx.simulators;
      const { id, ahead, promptId } = await loseThePrompt(fx, { dropAfter: async (drop, lostId) => {
        // Stopped before it looked at the queue; the prompt is lost while no orchestrator runs, and the next one starts past the deadline.
        await fx.restart(async () => {
          await drop();
          const { startedAt } = await fx.db.generationJob.findUniqueOrThrow({ where: { id: lostId } });
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt!.getTime() + 3_500 - Date.now())));
        });
      } });

      const failed = await settled(fx, id, 'the generation to fail');
      const message = `timed out after 3 s (JOB_TIMEOUT_S); nothing was taken off ${sim.url}: ${LOST_WORDING}`;
      expect({ code: failed.errorCode, message: failed.errorMessage }).toEqual({ code: 'timeout', message });
      expect((await attemptsOf(fx, id)).map((a) => [a.number, a.promptId, a.error])).toEqual([[1, promptId, { code: 'timeout', message }]]);
      // Before: the next orchestrator posted the prompt again (under its id), and its deadline took it off at once.
      expect(sim.received.map((p) => p.promptId)).toEqual([ahead, promptId]);
      expect(sim.controls.map((c) => [c.path, c.body])).toEqual([['/queue', { delete: [promptId] }]]);
    });
  });

  describe('resumed past JOB_TIMEOUT_S with its backend down', () => {
    let fx: OrchestratorFixture;
    // The server started on the old one's port: not the fixture's own, so fx.close() leaves it running.
    let restarted: Simulator | undefined;

    beforeAll(async () => {
      fx = await startOrchestratorFixture('dl-down-past-deadline', { simulators: [{ stepMs: 100 }], env: { JOB_TIMEOUT_S: '4', JOB_MAX_ATTEMPTS: '3' }, timings: { stopGraceMs: 2_000, probeEveryMs: 200 } });
    });

    afterAll(async () => {
      await fx?.close();
      await restarted?.close();
    });

    it('when the next orchestrator finds the backend down past the deadline, then the generation fails with timeout at once, naming how its attempt ended, and nothing is posted once the backend is back', async () => {
      const [before] = fx.simulators;
      const id = await fx.resolvedGeneration({ steps: 150 });
      await waitFor(() => fx.db.generationJob.findFirst({ where: { id, progressValue: { gt: 0 } } }), 'the prompt to run');
      const { startedAt } = await fx.db.generationJob.findUniqueOrThrow({ where: { id } });
      const { port } = before;
      // The orchestrator stops; its backend goes down meanwhile, and the next one starts past the deadline.
      await fx.restart(async () => {
        await before.close();
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt!.getTime() + 4_500 - Date.now())));
      });
      // Back a second later (within JOB_TIMEOUT_S of the resumed render's own start).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt!.getTime() + 5_500 - Date.now())));
      restarted = await startSimulator({ port, stepMs: 1 });
      fx.simulators[0] = restarted;

      const failed = await settled(fx, id, 'the generation to fail');
      const message = `timed out after 4 s (JOB_TIMEOUT_S); its attempt on ${before.url} ended (backend_lost) and the time was up before the prompt could be posted again`;
      // Before: the render waited for a backend, posted the prompt again once it was back, and the timeout
      // took it off at once ("the prompt was taken off … (interrupted: ComfyUI let go of it)").
      expect({ code: failed.errorCode, message: failed.errorMessage }).toEqual({ code: 'timeout', message });
      expect(failed.finishedAt!.getTime()).toBeLessThan(startedAt!.getTime() + 5_500);
      expect((await attemptsOf(fx, id)).map((a) => [a.number, a.error])).toEqual([[1, { code: 'timeout', message }]]);
      expect(restarted.received).toEqual([]);
    });
  });

  describe('well before JOB_TIMEOUT_S', () => {
    let fx: OrchestratorFixture;

    beforeAll(async () => {
      fx = await startOrchestratorFixture('dl-lost-in-time', { simulators: [{ stepMs: 20 }], env: { JOB_TIMEOUT_S: '30', JOB_MAX_ATTEMPTS: '3' } });
    });

    afterAll(async () => {
      fx?.simulators[0]?.releaseWorker();
      await fx?.close();
    });

    it('when the retry finds the prompt lost, then it is posted again as attempt 2, attempt 1 ending prompt_lost, and the generation renders', async () => {
      const [sim] = fx.simulators;
      const { id, ahead, promptId } = await loseThePrompt(fx);
      // The prompt ahead lets go of the worker: the new attempt's prompt runs once posted.
      sim.releaseWorker();

      const row = await settled(fx, id, 'the generation to render or fail');
      expect({ status: row.status, stage: row.stage, errorCode: row.errorCode }).toEqual({ status: 'running', stage: 'rendered', errorCode: null });
      const attempts = await attemptsOf(fx, id);
      // Before: attempt 1 ended backend_error, "the backend failed the prompt with a transient fault (e.g. a 5xx)".
      expect(attempts.map((a) => [a.number, a.error])).toEqual([
        [1, { code: 'prompt_lost', message: expect.stringMatching(/^the backend lost the prompt: it was neither queued, running nor in its history/) }],
        [2, null],
      ]);
      expect(attempts[0].promptId).toBe(promptId);
      expect(sim.received.map((p) => p.promptId)).toEqual([ahead, promptId, attempts[1].promptId]);
      expect(await eventTypes(fx, id)).toEqual(['job:queued', 'job:submitted', 'job:retrying', 'job:submitted', 'job:started']);
    });
  });

  describe('a POST answered 503 (never queued), then found missing on the retry', () => {
    let fx: OrchestratorFixture;

    beforeAll(async () => {
      fx = await startOrchestratorFixture('dl-post-503', { simulators: [{ stepMs: 20 }], env: { JOB_TIMEOUT_S: '30', JOB_MAX_ATTEMPTS: '3' } });
    });

    afterAll(async () => {
      await fx?.close();
    });

    it('when the retry finds the prompt missing, then attempt 1 still ends backend_error (a transient fault), not prompt_lost', async () => {
      const [sim] = fx.simulators;
      sim.misbehave({ kind: 'post_answer', status: 503, body: { error: 'overloaded' } });
      const id = await fx.resolvedGeneration({ steps: 2 });
      // The first try ended on the 503: ComfyUI answers again before its retry (BullMQ's backoff, 1 s).
      await waitFor(async () => ((await fx.service.ctx.queues.byKey.generationRenders.getJob(`render-${id}`))?.attemptsMade ? true : null), 'the first try to end', 10_000, 10);
      sim.misbehave();

      const row = await settled(fx, id, 'the generation to render or fail');
      expect({ status: row.status, stage: row.stage }).toEqual({ status: 'running', stage: 'rendered' });
      const attempts = await attemptsOf(fx, id);
      expect(attempts.map((a) => [a.number, (a.error as { code?: string } | null)?.code ?? null])).toEqual([
        [1, 'backend_error'],
        [2, null],
      ]);
      expect(sim.received.map((p) => p.promptId)).toEqual([attempts[1].promptId]);
    });
  });
});
