import { createLogger } from '@anime/logger';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

type Line = { level: string; message: string; [key: string]: unknown };

/**
 * A render job handed back to its queue says so once, at info, with its id and why; the end of its
 * stage job (outcome deferred, "bullmq:movedToDelayed", which says nothing of why) is at debug; a
 * job waiting in the orchestrator for a backend is named on its line.
 */
describe('the log lines of render jobs handed back (orchestrator in-process, a slow and a fast simulator with different models)', () => {
  let fx: OrchestratorFixture;
  const lines: Line[] = [];

  beforeAll(async () => {
    const log = createLogger('orchestrator', 'info');
    for (const transport of log.transports) transport.silent = true;
    // Every line the logger is given, whatever its level (the console's level filter comes after).
    log.on('data', (line: Line) => lines.push(line));
    fx = await startOrchestratorFixture('hand-back-log', {
      simulators: [{ stepMs: 60, checkpoints: ['alpha.safetensors'] }, { stepMs: 20, checkpoints: ['beta.safetensors'] }],
      env: { BACKEND_PREFETCH: '1', JOB_TIMEOUT_S: '30' },
      log,
    });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when a backlog for one backend is handed back, then each hand-back is one info line naming the job and why, its stage end is at debug, and each wait names its job', async () => {
    const backlog: string[] = [];
    for (let i = 0; i < 8; i++) backlog.push(await fx.resolvedGeneration({ prompt: `alpha ${i}`, steps: 3 }, { checkpoint: 'alpha.safetensors' }));
    await waitFor(async () => {
      const rows = await fx.db.generationJob.findMany({ where: { id: { in: backlog } } });
      return rows.every((g) => g.stage === 'rendered' || g.status === 'failed') || null;
    }, 'the backlog to render', 60_000);

    const metrics = await (await fetch(`http://127.0.0.1:${fx.service.ops.port()}/metrics`)).text();
    const handBacks = metrics
      .split('\n')
      .filter((line) => line.startsWith('anime_job_duration_seconds_count{') && line.includes('outcome="deferred"'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(handBacks).toBeGreaterThan(0);
    const info = lines.filter((line) => line.level === 'info');
    const deferred = info.filter((line) => line.message === 'stage job deferred to its queue');
    // Before: none; each hand-back's only line was "stage job ended without completing" (error "bullmq:movedToDelayed").
    expect(deferred.length).toBe(handBacks);
    for (const line of deferred) {
      expect(backlog.map((id) => `render-${id}`)).toContain(line.jobId);
      expect(line.reason).toMatch(/^handed back to its queue for \d+ ms at most: .+/);
      expect(line.delayMs).toEqual(expect.any(Number));
    }
    expect(info.filter((line) => line.message === 'stage job ended without completing' && line.outcome === 'deferred')).toEqual([]);
    expect(lines.filter((line) => line.level === 'debug' && line.message === 'stage job ended without completing' && line.outcome === 'deferred').length).toBe(handBacks);
    const waits = info.filter((line) => line.message === 'job waits for a backend');
    expect(waits.length).toBeGreaterThan(0);
    // Before: { reason } alone.
    for (const line of waits) expect(backlog).toContain(line.jobId);
  }, 90_000);
});
