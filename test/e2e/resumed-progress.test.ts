import { waitFor } from '@anime/testing';
import { expectCompletedOnce } from './expect-completed-once';
import { recordJobEvents } from './socket-recorder';
import { startStackFixture, type StackFixture } from './stack-fixture';

describe('progress of a prompt resumed after an orchestrator restart', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    // 100 steps of 300 ms (30 s): the prompt outlives the restart and the takeover of the stalled render job.
    fx = await startStackFixture('resumed-progress', { simulatorStepMs: 300 });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('when the orchestrator crashes while ComfyUI runs the prompt, then after its restart job:progress with increasing seq reaches Socket.IO clients, and the job completes once on the same prompt', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'progress across a restart', steps: 100 });
    expect(res.status).toBe(202);
    const recorder = await recordJobEvents(fx.stack.gatewayUrl, res.data.id, fx.apiKey);
    try {
      const progressed = () => recorder.events.filter((e) => e.name === 'job:progress');
      await waitFor(() => (progressed().some((e) => Number(e.payload.value) >= 2) ? true : null), 'progress before the crash', 30_000);
      await fx.stack.services.orchestrator!.stop('SIGKILL');
      const beforeCrash = recorder.events.length;
      const lastSeqBefore = Math.max(...recorder.events.map((e) => e.payload.seq));
      const lastValueBefore = Math.max(...progressed().map((e) => Number(e.payload.value)));
      await fx.stack.services.orchestrator!.start();

      await recorder.ended(120_000);
      const after = recorder.events.slice(beforeCrash);
      const ticksAfter = after.filter((e) => e.name === 'job:progress');
      // Old behaviour: the restarted process's socket had another clientId, so not one tick came.
      expect(ticksAfter.length).toBeGreaterThanOrEqual(5);
      expect(ticksAfter.every((e) => e.payload.seq > lastSeqBefore && Number(e.payload.value) > lastValueBefore)).toBe(true);
      const seqs = recorder.events.map((e) => e.payload.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(after.filter((e) => e.name === 'job:completed')).toHaveLength(1);
      expect(after.at(-1)?.name).toBe('job:completed');

      const done = await expectCompletedOnce(fx, res.data.id);
      const attempts = await fx.db.jobAttempt.findMany({ where: { jobId: res.data.id } });
      expect(attempts).toHaveLength(1);
      expect(attempts[0].promptId).toBe(done.promptId);
    } finally {
      recorder.close();
    }
  }, 180_000);
});
