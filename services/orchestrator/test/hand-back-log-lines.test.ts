import { createLogger } from '@anime/logger';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

type Line = { level: string; message: string; [key: string]: unknown };

/**
 * A render job handed back to its queue says so at info once, its first hand-back, with its id and
 * why; each later hand-back of it is at debug, and at most once a minute a summary says how many
 * wait ("N render jobs wait for a backend place"). Each hand-back was an info line: with a deep
 * backlog the returns come at about 10 a second, and most are handed back again (60 jobs for one
 * place: 212 info lines in 20 s). The end of its stage job (outcome deferred,
 * "bullmq:movedToDelayed", which says nothing of why) is at debug; a job waiting in the
 * orchestrator for a backend is named on its line.
 */
describe('the log lines of render jobs handed back (orchestrator in-process, a slow simulator with one place and a fast one with other models)', () => {
  let fx: OrchestratorFixture;
  const lines: Line[] = [];

  beforeAll(async () => {
    const log = createLogger('orchestrator', 'info');
    for (const transport of log.transports) transport.silent = true;
    // Every line the logger is given, whatever its level (the console's level filter comes after).
    log.on('data', (line: Line) => lines.push(line));
    fx = await startOrchestratorFixture('hand-back-log', {
      // Beta, idle, lends worker slots: the alpha jobs past its one place and the one waiting for it are handed back.
      simulators: [{ stepMs: 60, checkpoints: ['alpha.safetensors'] }, { stepMs: 20, checkpoints: ['beta.safetensors'] }],
      env: { BACKEND_PREFETCH: '0', JOB_TIMEOUT_S: '60' },
      log,
    });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when a deep backlog for one backend is handed back again and again, then each job\'s first hand-back is one info line naming it and why, the later ones are at debug, its stage ends are at debug, and each wait names its job', async () => {
    const started = Date.now();
    const backlog: string[] = [];
    // 20 jobs for one place (3 steps × 60 ms each): the last wait seconds, handed back several times each.
    for (let i = 0; i < 20; i++) backlog.push(await fx.resolvedGeneration({ prompt: `alpha ${i}`, steps: 3 }, { checkpoint: 'alpha.safetensors' }));
    await waitFor(async () => {
      const rows = await fx.db.generationJob.findMany({ where: { id: { in: backlog } } });
      return rows.every((g) => g.stage === 'rendered' || g.status === 'failed') || null;
    }, 'the backlog to render', 90_000);
    const minutes = (Date.now() - started) / 60_000;

    const metrics = await (await fetch(`http://127.0.0.1:${fx.service.ops.port()}/metrics`)).text();
    const handBacks = metrics
      .split('\n')
      .filter((line) => line.startsWith('anime_job_duration_seconds_count{') && line.includes('outcome="deferred"'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    const deferred = lines.filter((line) => line.message === 'stage job deferred to its queue');
    const jobsHandedBack = new Set(deferred.map((line) => line.jobId));
    // Jobs handed back more than once: what the test is about.
    expect(handBacks).toBe(deferred.length);
    expect(handBacks).toBeGreaterThan(jobsHandedBack.size);
    for (const line of deferred) {
      expect(backlog.map((id) => `render-${id}`)).toContain(line.jobId);
      expect(line.reason).toMatch(/^handed back to its queue for \d+ ms at most: .+/);
      expect(line.delayMs).toEqual(expect.any(Number));
    }
    const info = lines.filter((line) => line.level !== 'debug');
    const firsts = info.filter((line) => line.message === 'stage job deferred to its queue');
    // Before: every hand-back at info (firsts.length === handBacks).
    expect(firsts.map((line) => line.jobId).sort()).toEqual([...jobsHandedBack].sort());
    expect(firsts.every((line) => line.level === 'info')).toBe(true);
    expect(deferred.filter((line) => line.level === 'debug').length).toBe(handBacks - jobsHandedBack.size);
    // At most one summary a minute (none in a backlog handed back for less than a minute).
    const summaries = info.filter((line) => / render jobs? waits? for a backend place$/.test(line.message));
    expect(summaries.length).toBeLessThanOrEqual(Math.floor(minutes));
    expect(info.filter((line) => line.message === 'stage job ended without completing' && line.outcome === 'deferred')).toEqual([]);
    expect(lines.filter((line) => line.level === 'debug' && line.message === 'stage job ended without completing' && line.outcome === 'deferred').length).toBe(handBacks);
    const waits = info.filter((line) => line.message === 'job waits for a backend');
    expect(waits.length).toBeGreaterThan(0);
    // Before: { reason } alone.
    for (const line of waits) expect(backlog).toContain(line.jobId);
    console.log(`hand-back log lines: ${backlog.length} jobs, ${handBacks} hand-backs of ${jobsHandedBack.size} jobs in ${(minutes * 60).toFixed(1)} s: ${firsts.length} at info, ${summaries.length} summaries; ${info.length} lines at info or above in all`);
  }, 120_000);
});
