import { createLogger } from '@anime/logger';
import { waitFor } from '@anime/testing';
import { HAND_BACK_MAX_DELAY_MS } from '../src/domain/backends/handed-back-jobs';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

type Line = { message: string; jobId?: string; delayMs?: number; from: string; at: number };

/** A logger whose every line is also pushed to `lines`, marked `from`. */
function recordingLogger(lines: Line[], from: string) {
  const log = createLogger('orchestrator', 'info');
  for (const transport of log.transports) transport.silent = true;
  log.on('data', (line: Omit<Line, 'from' | 'at'>) => lines.push({ ...line, from, at: Date.now() }));
  return log;
}

/**
 * A job handed back again waits twice as long as the time before (up to the longest delay), so a
 * backlog costs few returns (each a hand-back: a log line, some 100 Redis calls). Each process
 * counted only its own hand-backs of a job: with two replicas taking a backlog's returns in turn,
 * a job handed back by the other one started again from the first delay (1 s) each time, and the
 * hand-backs of a steady backlog were about three times as many as with one replica.
 */
describe('hand-back delays of a job handed back by one orchestrator, then another (two orchestrators in-process, a busy and an idle simulator)', () => {
  let fx: OrchestratorFixture;
  const lines: Line[] = [];

  beforeAll(async () => {
    fx = await startOrchestratorFixture('hand-back-delays', {
      // Alpha: about 0.5 s a render, 2 places per process; beta, idle, lends worker slots, so the alpha jobs past those are handed back.
      simulators: [{ stepMs: 100, checkpoints: ['alpha.safetensors'] }, { stepMs: 20, checkpoints: ['beta.safetensors'] }],
      env: { BACKEND_PREFETCH: '1', JOB_TIMEOUT_S: '120' },
      log: recordingLogger(lines, 'first'),
    });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when a job is handed back by one process and then by another, then its delay still doubles each time, whichever process hands it back', async () => {
    await fx.startReplica(recordingLogger(lines, 'replica'));
    for (let i = 0; i < 16; i++) await fx.resolvedGeneration({ prompt: `backlog ${i}`, steps: 5 }, { checkpoint: 'alpha.safetensors' });
    /** Per job, its hand-backs in order: which process, with what delay. */
    const handBacks = () => {
      const byJob = new Map<string, Line[]>();
      for (const line of lines) if (line.message === 'stage job deferred to its queue') byJob.set(line.jobId!, [...(byJob.get(line.jobId!) ?? []), line]);
      return [...byJob.values()];
    };
    /** Consecutive hand-backs of one job by different processes. */
    const switches = () => handBacks().flatMap((seq) => seq.slice(1).map((line, i) => [seq[i], line] as const).filter(([before, after]) => before.from !== after.from));
    // Three are enough to tell (before, every one was shorter); the wait is generous, as a loaded machine slows the renders that free places.
    await waitFor(() => switches().length >= 3 || null, 'jobs handed back by one process, then by the other', 90_000);

    const shorter = switches()
      .filter(([before, after]) => after.delayMs! < Math.min(2 * before.delayMs!, HAND_BACK_MAX_DELAY_MS))
      .map(([before, after]) => `${after.jobId}: ${before.delayMs} ms (${before.from}), then ${after.delayMs} ms (${after.from})`);
    console.log(`hand-back delays: ${switches().length} hand-backs by another process than the one before; ${shorter.length} shorter than twice the one before`);
    // Before: the other process started the job's delays again from 1 s (e.g. 4000 ms by first, then 1000 ms by replica).
    expect(shorter).toEqual([]);
  }, 120_000);
});
