import axios from 'axios';
import { waitFor } from '@anime/testing';
import { recordJobEvents } from './socket-recorder';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

interface Control {
  path: '/queue' | '/interrupt';
  body: { delete?: string[]; prompt_id?: string };
}

describe('job control: cancel, retry and queues over REST (one backend, BACKEND_PREFETCH=1)', () => {
  let fx: StackFixture;
  let backend: string;

  beforeAll(async () => {
    // 100 ms a step: a 60-step prompt runs 6 s, long enough to act on it while it waits or runs.
    fx = await startStackFixture('job-control', { simulatorStepMs: 100, extraEnv: { BACKEND_PREFETCH: '1' } });
    backend = fx.stack.comfyUrls[0];
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  const submit = async (prompt: string, steps: number) => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt, steps, width: 64, height: 64 });
    expect(res.status).toBe(202);
    return res.data.id as string;
  };
  const get = async (id: string) => (await fx.api.get(`/api/v1/generations/${id}`)).data;
  const controls = async (): Promise<Control[]> => (await axios.get(`${backend}/sim/controls`)).data.controls;
  const backendQueue = async () => {
    const { data } = await axios.get(`${backend}/queue`);
    return { running: data.queue_running.map((item: unknown[]) => item[1]), pending: data.queue_pending.map((item: unknown[]) => item[1]) };
  };

  it('when jobs are canceled while queued, while waiting in the backend and while executing, then each ends canceled with the right ComfyUI call, nothing is filed and the job beside them completes', async () => {
    // Long enough (10 s) never to finish first on a loaded machine: both are canceled anyway.
    const long = [await submit('cancel me while I run', 100), await submit('cancel me while I wait in the backend', 100)];
    const beside = await submit('the job beside', 3);
    const queued = await submit('cancel me while queued', 3);

    // Queued (not in a backend yet): canceled at once.
    const early = await fx.api.post(`/api/v1/generations/${queued}/cancel`);
    expect(early.status).toBe(202);
    expect(early.data).toMatchObject({ id: queued, status: 'canceled', error: { code: 'canceled' } });

    // The orchestrator submits both long prompts at once (BACKEND_PREFETCH=1): whichever ComfyUI
    // got first runs, the other waits in its own queue.
    const [run, wait] = await waitFor(async () => {
      const [a, b] = [await get(long[0]), await get(long[1])];
      if (!a.promptId || !b.promptId) return null;
      const q = await backendQueue();
      if (q.running.includes(a.promptId) && q.pending.includes(b.promptId) && a.progress) return [a, b];
      if (q.running.includes(b.promptId) && q.pending.includes(a.promptId) && b.progress) return [b, a];
      return null;
    }, 'one prompt running and one waiting in the backend', 40_000);
    const [executing, waiting] = [run.id as string, wait.id as string];
    const socket = await recordJobEvents(fx.stack.gatewayUrl, executing, fx.apiKey);

    const inBackend = await fx.api.post(`/api/v1/generations/${waiting}/cancel`);
    expect(inBackend.status).toBe(202);
    expect((await waitForGenerationEnd(fx, waiting)).status).toBe('canceled');

    const running = await fx.api.post(`/api/v1/generations/${executing}/cancel`);
    expect(running.status).toBe(202);
    const canceled = await waitForGenerationEnd(fx, executing);
    expect(canceled).toMatchObject({ status: 'canceled', error: { code: 'canceled' }, assets: [] });
    expect(canceled.progress.value).toBeLessThan(100);
    await socket.ended(10_000);
    socket.close();
    expect(socket.events.at(-1)?.name).toBe('job:canceled');

    const seen = await controls();
    expect(seen.filter((c) => c.body.delete?.includes(wait.promptId) || c.body.prompt_id === wait.promptId)).toEqual([{ path: '/queue', body: { delete: [wait.promptId] }, at: expect.any(String) }]);
    expect(seen.filter((c) => c.body.delete?.includes(run.promptId) || c.body.prompt_id === run.promptId)).toEqual([{ path: '/interrupt', body: { prompt_id: run.promptId }, at: expect.any(String) }]);
    // ComfyUI confirmed before the job became canceled: the interrupted prompt is in its history.
    const entry = (await axios.get(`${backend}/history/${run.promptId}`)).data[run.promptId];
    expect(entry.status.messages.map(([name]: [string]) => name)).toContain('execution_interrupted');

    const done = await waitForGenerationEnd(fx, beside);
    expect(done.status).toBe('completed');
    expect(done.assets).toHaveLength(1);
    expect(await fx.db.asset.count({ where: { jobId: { in: [executing, waiting, queued] } } })).toBe(0);
    expect(seen.some((c) => c.body.prompt_id === done.promptId || c.body.delete?.includes(done.promptId))).toBe(false);

    // Repeating is harmless; a completed job cannot be canceled.
    const again = await fx.api.post(`/api/v1/generations/${executing}/cancel`);
    expect(again.status).toBe(202);
    expect(again.data.status).toBe('canceled');
    const late = await fx.api.post(`/api/v1/generations/${beside}/cancel`);
    expect(late.status).toBe(409);
    expect(late.data.error.code).toBe('not_cancelable');
    expect((await controls()).length).toBe(seen.length);

    // A canceled job runs again as a new attempt with the same seed.
    const retried = await fx.api.post(`/api/v1/generations/${executing}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.data).toMatchObject({ id: executing, error: null });
    const rerun = await waitForGenerationEnd(fx, executing, 45_000);
    expect(rerun).toMatchObject({ status: 'completed', seed: canceled.seed });
    expect(rerun.attempts.map((a: { number: number }) => a.number)).toEqual([1, 2]);
    expect(rerun.assets).toHaveLength(1);
  }, 120_000);

  it('when a failed job is retried over REST, then it completes as attempt 2 (with a new seed when asked); completed or active jobs are 409 not_retryable', async () => {
    await axios.post(`${backend}/sim/fail-next`, { kind: 'execution_error', message: 'simulated out of memory' });
    const id = await submit('fails once', 3);
    const failed = await waitForGenerationEnd(fx, id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'comfyui_execution' } });

    const socket = await recordJobEvents(fx.stack.gatewayUrl, id, fx.apiKey);
    const retried = await fx.api.post(`/api/v1/generations/${id}/retry`, { seed: 'new' });
    expect(retried.status).toBe(202);
    const done = await waitFor(async () => ((await get(id)).status === 'completed' ? get(id) : null), 'the retried job to complete', 30_000);
    expect(done.attempts.map((a: { number: number; error: unknown }) => [a.number, a.error === null])).toEqual([[1, false], [2, true]]);
    expect(done.seed).not.toBe(failed.seed);
    expect(done.request.seed).toBe(done.seed);
    expect(done.assets).toHaveLength(1);
    await waitFor(() => socket.events.some((e) => e.name === 'job:completed'), 'job:completed on the socket');
    socket.close();
    expect(socket.events.find((e) => e.name === 'job:retrying')?.payload).toMatchObject({ jobId: id, attempt: 2 });

    const again = await fx.api.post(`/api/v1/generations/${id}/retry`);
    expect(again.status).toBe(409);
    expect(again.data.error.code).toBe('not_retryable');
    const active = await submit('still running', 40);
    const busy = await fx.api.post(`/api/v1/generations/${active}/retry`);
    expect(busy.status).toBe(409);
    expect(busy.data.error.code).toBe('not_retryable');
    expect((await fx.api.post(`/api/v1/generations/${active}/retry`, { seed: 'old' })).status).toBe(400);
    await fx.api.post(`/api/v1/generations/${active}/cancel`);
    expect((await waitForGenerationEnd(fx, active)).status).toBe('canceled');
  }, 90_000);

  it('when a generation canceled while awaiting filing is retried with a new seed, then it is rendered again with that seed, not filed with the image of the old one', async () => {
    await fx.api.post('/api/v1/queues/asset-filing/pause');
    const id = await submit('rendered, then canceled before filing', 2);
    await waitFor(async () => ((await get(id)).stage === 'rendered' ? true : null), 'the render', 30_000);
    expect((await fx.api.post(`/api/v1/generations/${id}/cancel`)).status).toBe(202);
    const canceled = await waitForGenerationEnd(fx, id);
    expect(canceled).toMatchObject({ status: 'canceled', stage: 'rendered' });
    await fx.api.post('/api/v1/queues/asset-filing/resume');

    expect((await fx.api.post(`/api/v1/generations/${id}/retry`, { seed: 'new' })).status).toBe(202);
    // Within 8 s: handed from stage to stage, not picked up by the recovery sweep (work untouched 10 s)
    // because the first run's filing job still held its id.
    const done = await waitFor(async () => ((await get(id)).status === 'completed' ? get(id) : null), 'the retried job to complete', 8_000);
    expect(done.seed).not.toBe(canceled.seed);
    expect(done.attempts.map((a: { number: number }) => a.number)).toEqual([1, 2]);
    // The image filed is the second attempt's, whose sampler had the new seed.
    const { data } = await axios.get(`${backend}/sim/prompts`);
    const sent = data.prompts.find((p: { promptId: string }) => p.promptId === done.promptId).prompt as Record<string, { class_type: string; inputs: { seed?: number } }>;
    const sampler = Object.values(sent).find((node) => node.class_type === 'KSampler')!;
    expect(String(sampler.inputs.seed)).toBe(String(done.seed));
    expect(done.assets).toHaveLength(1);
  }, 90_000);

  it('when a queue is paused over REST, then its jobs wait (counted) until it is resumed; an unknown queue is 404 queue_not_found', async () => {
    // The run that canceled the last job may still be returning its queue job.
    const list = await waitFor(async () => {
      const res = await fx.api.get('/api/v1/queues');
      return res.data.items?.[1]?.counts.active === 0 ? res : null;
    }, 'the renders queue to be idle');
    expect(list.status).toBe(200);
    expect(list.data.items.map((q: { name: string }) => q.name)).toEqual(['generation-requests', 'generation-renders', 'asset-filing', 'webhook-deliveries']);
    expect(list.data.items[1]).toMatchObject({ paused: false, counts: { waiting: 0, active: 0, delayed: 0, completed: expect.any(Number), failed: expect.any(Number) } });

    const paused = await fx.api.post('/api/v1/queues/generation-renders/pause');
    expect(paused.status).toBe(200);
    expect(paused.data).toMatchObject({ name: 'generation-renders', paused: true });
    const id = await submit('held by a paused queue', 2);
    const renders = async () => (await fx.api.get('/api/v1/queues')).data.items.find((q: { name: string }) => q.name === 'generation-renders');
    // The character service resolves it into the renders queue first: a moment, longer on a loaded machine.
    await waitFor(async () => ((await renders()).counts.waiting === 1 ? true : null), 'the job to reach the paused renders queue', 15_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await get(id)).status).toBe('queued');
    expect(await renders()).toMatchObject({ paused: true, counts: { waiting: 1 } });

    const resumed = await fx.api.post('/api/v1/queues/generation-renders/resume');
    expect(resumed.data.paused).toBe(false);
    expect((await waitForGenerationEnd(fx, id)).status).toBe('completed');

    const unknown = await fx.api.post('/api/v1/queues/no-such-queue/pause');
    expect(unknown.status).toBe(404);
    expect(unknown.data.error.code).toBe('queue_not_found');
  });
});
