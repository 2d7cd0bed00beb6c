import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PARTIAL_GRACE_MS } from '@anime/media';
import { waitFor } from '@anime/testing';
import { expectCompletedOnce } from './expect-completed-once';
import { untilPromptRuns } from './prompt-running';
import { startStackFixture, type StackFixture } from './stack-fixture';

// Every service must be gone this soon after SIGTERM, a render in flight or not.
const STOP_WITHIN_MS = 5_000;

describe('SIGTERM while ComfyUI runs a long prompt', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    fx = await startStackFixture('shutdown', { simulatorStepMs: 100 });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('when every service gets SIGTERM mid-render, then each exits 0 within 5 s, and after a restart the job completes once on the same prompt', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'a long render', steps: 100 });
    expect(res.status).toBe(202);
    const running = await untilPromptRuns(fx, res.data.id);

    const stops = await Promise.all(
      fx.stack.serviceNames.map(async (name) => {
        const t0 = Date.now();
        const code = await fx.stack.services[name]!.stop('SIGTERM');
        return { name, code, ms: Date.now() - t0 };
      }),
    );
    console.log(`graceful-shutdown: ${stops.map((s) => `${s.name} exit ${s.code} in ${s.ms} ms`).join(', ')}`);
    for (const stop of stops) expect(stop).toEqual({ name: stop.name, code: 0, ms: expect.any(Number) });
    for (const stop of stops) expect(stop.ms).toBeLessThan(STOP_WITHIN_MS);
    // The render was left running, not failed.
    expect((await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id } })).status).toBe('running');

    for (const name of fx.stack.serviceNames) await fx.stack.services[name]!.start();
    await expectCompletedOnce(fx, res.data.id);
    const after = await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id }, include: { attempts: true } });
    expect(after.promptId).toBe(running.promptId);
    expect(after.attempts).toHaveLength(1);
  }, 180_000);

  it('when one of two orchestrators gets SIGTERM mid-render, then it hands the job back and the other follows the same prompt within seconds (not after its lock lapses), and the job completes once', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'a render handed over', steps: 150 });
    expect(res.status).toBe(202);
    const running = await untilPromptRuns(fx, res.data.id);
    // The second orchestrator comes only now: the render is the first one's.
    await fx.stack.addInstance('orchestrator');

    const t0 = Date.now();
    expect(await fx.stack.services.orchestrator!.stop('SIGTERM')).toBe(0);
    const exitedMs = Date.now() - t0;
    const stoppedAt = (await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id } })).progressValue ?? 0;
    // The other one stores the prompt's progress again: it follows it. Before, the job stayed active
    // under the stopped process's lock until that lapsed (10 s) and BullMQ's stall check (every 5 s) ran.
    await waitFor(
      async () => ((await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id } })).progressValue ?? 0) > stoppedAt + 2,
      'the other orchestrator to follow the prompt',
      4_000,
      100,
    );
    console.log(`graceful-shutdown: the first orchestrator exited ${exitedMs} ms after its SIGTERM; the other stored the prompt's progress ${Date.now() - t0} ms after it`);

    await expectCompletedOnce(fx, res.data.id);
    const after = await fx.db.generationJob.findUniqueOrThrow({ where: { id: res.data.id }, include: { attempts: true } });
    expect(after.promptId).toBe(running.promptId);
    expect(after.attempts).toHaveLength(1);
    await fx.stack.services.orchestrator!.start();
  }, 120_000);

  it('when a library write was killed before its rename, then the restarted writers (gateway, file-organizer) remove its stale temp file and keep a fresh one', async () => {
    const stale = path.join(fx.libraryDir, 'demo', 'ep01', 'killed.png.0123456789ab.partial');
    const fresh = path.join(fx.libraryDir, 'demo', 'ep01', 'writing.png.abcdef012345.partial');
    await mkdir(path.dirname(stale), { recursive: true });
    await writeFile(stale, 'half an image');
    await writeFile(fresh, 'a write in progress elsewhere');
    const old = new Date(Date.now() - PARTIAL_GRACE_MS - 60_000);
    await utimes(stale, old, old);

    for (const name of ['gateway', 'file-organizer'] as const) await fx.stack.services[name]!.restart();
    // The sweep runs after the start, in the background (ready first, however large the library).
    const gone = () => stat(stale).then(() => false, (error: NodeJS.ErrnoException) => error.code === 'ENOENT');
    await waitFor(gone, 'the stale temp file removed by the sweep after the restart', 10_000);
    expect((await stat(fresh)).isFile()).toBe(true);
  }, 60_000);
});
