import { Prisma } from '@anime/db';
import { removeQueueKeys, waitFor } from '@anime/testing';
import { expectCompletedOnce } from './expect-completed-once';
import { untilPromptRuns } from './prompt-running';
import { startStackFixture, type StackFixture } from './stack-fixture';

/**
 * Redis keeps nothing on disk: a restart empties every queue. PostgreSQL holds the jobs, and each
 * service's recovery sweep (RECOVERY_SWEEP_MS, here 1 s) puts back the work of its stage that is
 * older than the grace period. Deleting the pipeline's keys is that restart, seen from the queues,
 * without disturbing the other test files sharing this Redis.
 */
describe('Redis losing every queue mid-job', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    fx = await startStackFixture('redis-loss', { simulatorStepMs: 40, extraEnv: { RECOVERY_SWEEP_MS: '1000' } });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  const post = async (prompt: string, steps: number) => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt, steps });
    expect(res.status).toBe(202);
    return res.data.id as string;
  };

  it('when the queues are lost before the character was resolved, then the job is swept back and completes once', async () => {
    await fx.stack.services.character!.stop('SIGKILL');
    const id = await post('lost before resolution', 5);
    await removeQueueKeys(fx.queuePrefix);
    await fx.stack.services.character!.start();
    await expectCompletedOnce(fx, id);
  }, 120_000);

  it('when the queues are lost while ComfyUI runs the prompt, then the same prompt completes once', async () => {
    const id = await post('lost while running', 60);
    const running = await untilPromptRuns(fx, id);
    await removeQueueKeys(fx.queuePrefix);
    const done = await expectCompletedOnce(fx, id);
    expect(done.promptId).toBe(running.promptId);
    expect(await fx.db.jobAttempt.count({ where: { jobId: id } })).toBe(1);
  }, 120_000);

  it('when the queues are lost and the orchestrator dies while ComfyUI runs the prompt, then after restart the same prompt completes once', async () => {
    const id = await post('lost with the orchestrator', 60);
    const running = await untilPromptRuns(fx, id);
    await fx.stack.services.orchestrator!.stop('SIGKILL');
    await removeQueueKeys(fx.queuePrefix);
    await fx.stack.services.orchestrator!.start();
    const done = await expectCompletedOnce(fx, id);
    expect(done.promptId).toBe(running.promptId);
    expect(await fx.db.jobAttempt.count({ where: { jobId: id } })).toBe(1);
  }, 120_000);

  it('when the queues are lost after the outputs were recorded but before filing, then the outputs are filed once', async () => {
    await fx.stack.services['file-organizer']!.stop('SIGKILL');
    const id = await post('lost before filing', 5);
    await waitFor(() => fx.db.generationJob.findFirst({ where: { id, outputs: { not: Prisma.DbNull } } }), 'the outputs to be recorded', 60_000);
    await removeQueueKeys(fx.queuePrefix);
    await fx.stack.services['file-organizer']!.start();
    await expectCompletedOnce(fx, id);
  }, 120_000);
});
