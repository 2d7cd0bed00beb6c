import { waitFor } from '@anime/testing';
import { expectCompletedOnce } from './expect-completed-once';
import { untilPromptRuns } from './prompt-running';
import { startStackFixture, type StackFixture } from './stack-fixture';

/** Every service killed (no graceful shutdown) and started again, as after a crash. */
async function crashAndRestartAll(fx: StackFixture): Promise<void> {
  await Promise.all(fx.stack.serviceNames.map((name) => fx.stack.services[name]!.stop('SIGKILL')));
  for (const name of fx.stack.serviceNames) await fx.stack.services[name]!.start();
}

describe('restarting every service mid-job', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    fx = await startStackFixture('restart', { simulatorStepMs: 40 });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('when every service crashes while the job is queued, then after restart it completes once', async () => {
    await fx.stack.services.orchestrator!.stop('SIGTERM');
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'queued during a crash', steps: 5 });
    expect(res.status).toBe(202);
    await waitFor(() => fx.db.generationJob.findFirst({ where: { id: res.data.id, resolvedAt: { not: null } } }), 'the character to be resolved');
    expect((await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id } })).status).toBe('queued');
    await crashAndRestartAll(fx);
    await expectCompletedOnce(fx, res.data.id);
  }, 150_000);

  it('when every service crashes while ComfyUI is running the prompt, then after restart it completes once on the same prompt', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'running during a crash', steps: 100 });
    expect(res.status).toBe(202);
    const running = await untilPromptRuns(fx, res.data.id);
    await crashAndRestartAll(fx);
    await expectCompletedOnce(fx, res.data.id);
    const after = await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id }, include: { attempts: true } });
    expect(after.promptId).toBe(running.promptId);
    expect(after.attempts).toHaveLength(1);
  }, 150_000);
});
