import { waitFor } from '@anime/testing';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

const BATCH = 30;
const PREFETCH = 1;

describe('priority: interactive work overtakes queued batch work (one backend, slow steps)', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    fx = await startStackFixture('priority', { simulatorStepMs: 100, extraEnv: { BACKEND_PREFETCH: String(PREFETCH) } });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  const submit = async (priority: string, prompt: string, steps: number) => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt, priority, steps, width: 64, height: 64 });
    expect(res.status).toBe(202);
    return res.data.id as string;
  };
  const startedAt = async (ids: string[]) => {
    const rows = await fx.db.generationJob.findMany({ where: { id: { in: ids } }, select: { id: true, status: true, startedAt: true } });
    return new Map(rows.map((r) => [r.id, r]));
  };

  it('when interactive jobs are submitted behind 30 batch jobs, then they start before every batch job still queued then (BACKEND_PREFETCH lets none more out of order)', async () => {
    const batch: string[] = [];
    for (let i = 0; i < BATCH; i++) batch.push(await submit('batch', `background ${i}`, 20));
    await waitFor(async () => [...(await startedAt(batch)).values()].some((r) => r.startedAt), 'the first batch job to start');

    const interactive = [await submit('interactive', 'look at this now', 2), await submit('interactive', 'and this', 2)];
    const queuedThen = [...(await startedAt(batch)).values()].filter((r) => r.status === 'queued').map((r) => r.id);
    expect(queuedThen.length).toBeGreaterThan(BATCH - 5);

    for (const id of interactive) expect((await waitForGenerationEnd(fx, id, 30_000)).status).toBe('completed');
    const interactiveStarts = [...(await startedAt(interactive)).values()].map((r) => r.startedAt!.getTime());
    const lastInteractive = Math.max(...interactiveStarts);
    const batchRows = await startedAt(queuedThen);
    // A batch job the orchestrator had already taken from the queue (not yet in ComfyUI) when the
    // interactive ones arrived may go first: at most one per backend slot beyond the running one.
    const overtaking = queuedThen.filter((id) => {
      const started = batchRows.get(id)!.startedAt;
      return started !== null && started.getTime() < lastInteractive;
    });
    expect(overtaking.length).toBeLessThanOrEqual(PREFETCH);
  });
});
