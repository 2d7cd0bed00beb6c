import axios from 'axios';
import { startSimulatorProcess, type SimulatorProcess } from '@anime/stack';
import { waitFor } from '@anime/testing';
import { startPromptRefusingProxy } from './prompt-refusing-proxy';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

describe('JOB_TIMEOUT_S: a prompt that runs too long', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    fx = await startStackFixture('job-timeout', { simulatorStepMs: 50, extraEnv: { JOB_TIMEOUT_S: '2' } });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('when a prompt outlives the limit, then it is interrupted on the backend, the job fails with timeout, and the backend takes the next job', async () => {
    const slow = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'far too many steps', steps: 150 });
    const failed = await waitForGenerationEnd(fx, slow.data.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'timeout', message: expect.stringContaining('timed out after 2 s') });
    expect(failed.progress.value).toBeLessThan(150);

    // ComfyUI handles /interrupt asynchronously (the prompt stops at its next step): the job fails
    // only once ComfyUI confirmed, so the interrupted prompt is already in /history.
    const entry = (await axios.get(`${failed.backend}/history/${failed.promptId}`)).data[failed.promptId];
    const messages = entry.status.messages.map(([name]: [string]) => name);
    expect(messages).toContain('execution_interrupted');
    expect(failed.error.message).toContain('ComfyUI let go of it');
    // One interrupt, nothing else: the client's own abort handling sends nothing.
    const { controls } = (await axios.get(`${failed.backend}/sim/controls`)).data;
    expect(controls.map((c: { path: string; body: unknown }) => [c.path, c.body])).toEqual([['/interrupt', { prompt_id: failed.promptId }]]);

    const next = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'a quick one', steps: 3 });
    expect((await waitForGenerationEnd(fx, next.data.id)).status).toBe('completed');
  });
});

describe('JOB_MAX_ATTEMPTS: a backend that is up but answers 5xx to every prompt', () => {
  let fx: StackFixture;
  let simulator: SimulatorProcess;
  let proxy: Awaited<ReturnType<typeof startPromptRefusingProxy>>;

  beforeAll(async () => {
    simulator = await startSimulatorProcess({ stepMs: 20 });
    proxy = await startPromptRefusingProxy(simulator.url);
    fx = await startStackFixture('job-attempts', { comfyUrls: [proxy.url], extraEnv: { JOB_MAX_ATTEMPTS: '2' } });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
    await proxy?.close();
    await simulator?.process.stop();
  });

  it('when every try gets a 5xx, then after JOB_MAX_ATTEMPTS tries the job fails with comfyui_unreachable', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'nobody home', steps: 2 });
    const failed = await waitForGenerationEnd(fx, res.data.id);
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('comfyui_unreachable');
    expect(failed.error.message).toContain('try 2 of 2');
  });
});

describe('JOB_TIMEOUT_S while no backend is up', () => {
  let fx: StackFixture;
  let simulator: SimulatorProcess;

  beforeAll(async () => {
    simulator = await startSimulatorProcess({ stepMs: 20 });
    fx = await startStackFixture('job-wait-timeout', { comfyUrls: [simulator.url], extraEnv: { JOB_TIMEOUT_S: '3' } });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
    await simulator?.process.stop();
  });

  it('when the only backend stays down, then the job waits and fails with timeout after JOB_TIMEOUT_S, without reaching a backend', async () => {
    await simulator.process.stop('SIGKILL');
    await waitFor(async () => (await fetch(fx.stack.readyUrls.orchestrator)).status === 503, 'the orchestrator to be unready', 10_000, 200);
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'nobody home', steps: 2 });
    const failed = await waitForGenerationEnd(fx, res.data.id, 20_000);
    expect(failed).toMatchObject({ status: 'failed', stage: 'resolved', attempts: [] });
    expect(failed.error).toMatchObject({ code: 'timeout', message: expect.stringMatching(/timed out after 3 s \(JOB_TIMEOUT_S\) waiting for a backend/) });
  });
});
