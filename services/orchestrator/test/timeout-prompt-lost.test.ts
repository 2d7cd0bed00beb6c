import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createLogger } from '@anime/logger';
import { PromptTimedOutError, type JobEventPublisher, type JobLifecycle } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { stopRender, type StopRenderContext } from '../src/jobs/stop-render';
import { queuedByAnEarlierProcess } from './earlier-prompt';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

const log = createLogger('orchestrator', 'error');
const LIMIT_MS = 3_000;

/**
 * JOB_TIMEOUT_S ends a render by taking its prompt off the backend, and the job's error tells what
 * became of the prompt. A ComfyUI restarted with a fresh queue has lost the prompt: nothing is taken
 * off, and ComfyUI never "let go of it". A prompt posted again (a new attempt after the loss) that
 * still waits behind a backlog when the time runs out is deleted before it ran.
 */
describe('the timeout of a prompt ComfyUI lost, or that never ran', () => {
  const simulators: Simulator[] = [];
  const clients: ComfyClient[] = [];

  afterAll(async () => {
    for (const client of clients) client.close();
    for (const sim of simulators) sim.releaseWorker();
    await Promise.all(simulators.map((sim) => sim.close()));
  });

  const clientOf = (url: string) => {
    const client = new ComfyClient({ baseUrl: url });
    clients.push(client);
    return client;
  };

  /** The timeout path uses neither the lifecycle nor the publisher (a cancel would). */
  const timeoutContext = (client: ComfyClient, promptId: string): StopRenderContext => ({
    generationId: 'generation-1',
    client,
    promptId,
    lifecycle: {} as JobLifecycle,
    events: {} as JobEventPublisher,
    log,
    graceMs: 2_000,
    limitMs: LIMIT_MS,
    onIgnored: () => {
      throw new Error('no interrupt was ignored');
    },
  });

  const timedOut = async (ctx: StopRenderContext): Promise<PromptTimedOutError> => {
    const error = await stopRender(ctx, 'timeout').then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(PromptTimedOutError);
    return error as PromptTimedOutError;
  };

  it('when ComfyUI restarted with a fresh queue under the running prompt, then the timeout says ComfyUI no longer had it and nothing was taken off, not that ComfyUI let go of it', async () => {
    const before = await startSimulator({ stepMs: 100 });
    simulators.push(before);
    const client = clientOf(before.url);
    const { promptId } = await client.submit(textToImage({ steps: 200, width: 64, height: 64, seed: 1 }));
    await waitFor(async () => (await client.queue()).running.some((item) => item.promptId === promptId), 'the prompt to run');

    // Restarted on the same port: its queue and history are gone (comfyui-protocol.md §1).
    const { port } = before;
    await before.close();
    simulators.splice(simulators.indexOf(before), 1);
    const after = await startSimulator({ port, stepMs: 100 });
    simulators.push(after);

    const error = await timedOut(timeoutContext(client, promptId));
    expect(error.message).toBe(
      `timed out after 3 s (JOB_TIMEOUT_S); nothing was taken off ${after.url}: ComfyUI no longer had the prompt: neither queued, running nor in its history (lost there, as when ComfyUI restarts)`,
    );
    expect(error.message).not.toContain('let go of it');
    // Nothing was sent to the restarted ComfyUI: there was nothing of ours to delete or interrupt.
    expect(after.controls).toEqual([]);
  });

  it('when the prompt posted again waits behind a backlog as the time runs out, then it is deleted from the queue and the timeout says it never ran, not that ComfyUI let go of it', async () => {
    const sim = await startSimulator({ stepMs: 20 });
    simulators.push(sim);
    const client = clientOf(sim.url);
    // The backlog: another client's prompt holds the worker.
    sim.hangWorker();
    const ahead = await queuedByAnEarlierProcess(sim.url, textToImage({ steps: 2, width: 64, height: 64, seed: 2 }));
    await waitFor(async () => (await client.queue()).running.some((item) => item.promptId === ahead), 'the backlog to run');
    const { promptId } = await client.submit(textToImage({ steps: 2, width: 64, height: 64, seed: 3 }));

    const error = await timedOut(timeoutContext(client, promptId));
    expect(error.message).toBe(`timed out after 3 s (JOB_TIMEOUT_S); the prompt was taken off ${sim.url} (deleted from its queue before it ran)`);
    expect(sim.controls.map((c) => [c.path, c.body])).toEqual([['/queue', { delete: [promptId] }]]);
    // The prompt ahead was left alone.
    expect((await client.queue()).running.map((item) => item.promptId)).toEqual([ahead]);
  });

  it('when the prompt runs as the time runs out, then it is interrupted and the timeout says ComfyUI let go of it', async () => {
    const sim = await startSimulator({ stepMs: 50 });
    simulators.push(sim);
    const client = clientOf(sim.url);
    const { promptId } = await client.submit(textToImage({ steps: 500, width: 64, height: 64, seed: 4 }));
    await waitFor(async () => (await client.queue()).running.some((item) => item.promptId === promptId), 'the prompt to run');

    const error = await timedOut(timeoutContext(client, promptId));
    expect(error.message).toBe(`timed out after 3 s (JOB_TIMEOUT_S); the prompt was taken off ${sim.url} (interrupted: ComfyUI let go of it)`);
    expect(sim.controls.map((c) => [c.path, c.body])).toEqual([['/interrupt', { prompt_id: promptId }]]);
  });
});

/**
 * The same through the orchestrator: a generation's prompt waits on its backend behind another
 * client's, and ComfyUI drops it (as a restart does, here without the backend ever seen down, so
 * the job goes on following it). JOB_TIMEOUT_S runs out before the follower's next look at the
 * queue: the job fails with timeout, and its error says the backend no longer had the prompt.
 */
describe('a generation whose prompt its backend dropped, timed out', () => {
  let fx: OrchestratorFixture;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('timeout-prompt-lost', { simulators: [{ stepMs: 20 }], env: { JOB_TIMEOUT_S: '4' }, timings: { stopGraceMs: 2_000 } });
  });

  afterAll(async () => {
    fx?.simulators[0]?.releaseWorker();
    await fx?.close();
  });

  it('when the prompt is gone from ComfyUI (neither queued, running nor in its history) as the time runs out, then the generation fails with timeout saying so, not that ComfyUI let go of it', async () => {
    const [sim] = fx.simulators;
    sim.hangWorker();
    const ahead = await queuedByAnEarlierProcess(sim.url, textToImage({ steps: 2, width: 64, height: 64, seed: 5 }));
    const id = await fx.resolvedGeneration({ steps: 2 });
    const { promptId } = await waitFor(() => fx.db.generationJob.findFirst({ where: { id, stage: 'submitted', promptId: { not: null } } }), 'the prompt to be posted');
    await waitFor(async () => (await (await fetch(`${sim.url}/queue`)).text()).includes(promptId!), 'the prompt to wait in the queue');
    // The follower looks at the queue about 1 s after posting, then only at its 5th poll (about 6 s):
    // dropped in between, the loss is unseen when the 4 s run out.
    const { submittedAt } = await fx.db.jobAttempt.findFirstOrThrow({ where: { jobId: id, promptId: promptId! } });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, submittedAt.getTime() + 2_500 - Date.now())));

    // ComfyUI drops it: gone from its queue, with no history (what a restart leaves of every prompt).
    const dropped = await fetch(`${sim.url}/queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delete: [promptId] }) });
    expect(dropped.status).toBe(200);

    const failed = await waitFor(() => fx.db.generationJob.findFirst({ where: { id, status: 'failed' } }), 'the generation to fail', 15_000);
    expect(failed.errorCode).toBe('timeout');
    expect(failed.errorMessage).toBe(
      `timed out after 4 s (JOB_TIMEOUT_S); nothing was taken off ${sim.url}: ComfyUI no longer had the prompt: neither queued, running nor in its history (lost there, as when ComfyUI restarts)`,
    );
    // The orchestrator sent nothing to take off: the only control is the test's own drop.
    expect(sim.controls.map((c) => [c.path, c.body])).toEqual([['/queue', { delete: [promptId] }]]);
    const queue = (await (await fetch(`${sim.url}/queue`)).json()) as { queue_running: unknown[][] };
    expect(queue.queue_running.map((entry) => entry[1])).toEqual([ahead]);
  });
});
