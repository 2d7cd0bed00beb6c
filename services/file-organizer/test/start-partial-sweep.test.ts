import { fileOrganizerConfigSchema } from '@anime/config';
import { createLogger } from '@anime/logger';
import { PARTIAL_GRACE_MS } from '@anime/media';
import type { RunningService } from '@anime/pipeline';
import { fileExists, heldSeam, TEST_REDIS_URL, useStalePartialsLibrary, waitFor } from '@anime/testing';
import { startFileOrganizer } from '../src/start';

/**
 * The sweep of stale temp files walks the whole library, millions of files in a studio's year: the
 * file-organizer must be ready without waiting for it, and its shutdown must end it. The sweep is
 * held at its first removal (its `beforeRemove` seam), as a walk of a huge library would be.
 */
describe('file-organizer start and the stale temp files sweep (in-process, PostgreSQL, Redis)', () => {
  let service: RunningService | undefined;
  const log = createLogger('file-organizer', 'error');
  const library = useStalePartialsLibrary({
    label: 'fo-partial-sweep',
    log,
    graceMs: PARTIAL_GRACE_MS,
    stopService: async () => {
      await service?.stop();
      service = undefined;
    },
  });
  const { infos } = library;

  const staleFile = (relative = 'demo/ep01/sc001/kai/kai_v1_job_00.png.0123456789ab.partial') => library.staleFile(relative);
  const config = () => fileOrganizerConfigSchema.parse({ DATABASE_URL: library.database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: library.queuePrefix, LIBRARY_DIR: library.dir, FILE_ORGANIZER_PORT: '0' });
  const readyz = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

  it('when the sweep has not ended, then the service is ready already; the sweep ends after, and is logged', async () => {
    const file = await staleFile();
    const sweep = heldSeam();
    service = await startFileOrganizer(config(), log, { partialSweep: { beforeRemove: sweep.hold } });
    // Ready, the sweep still under way: the stale file is still there and no end was logged.
    expect(await readyz(service.ops.port())).toBe(200);
    expect(await fileExists(file)).toBe(true);
    expect(infos).not.toContain('stale partial library files removed');
    await sweep.reached;
    sweep.release();
    await waitFor(() => infos.includes('stale partial library files removed'), 'the sweep logged as done');
    expect(await fileExists(file)).toBe(false);
    expect(await readyz(service.ops.port())).toBe(200);
  });

  it('when the service stops while the sweep is about to remove, then nothing is removed after the stop', async () => {
    const file = await staleFile();
    const sweep = heldSeam();
    service = await startFileOrganizer(config(), log, { partialSweep: { beforeRemove: sweep.hold } });
    await sweep.reached;
    const stopping = service.stop();
    sweep.release();
    await stopping;
    service = undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await fileExists(file)).toBe(true);
    expect(infos).toContain('stale partial library files sweep stopped');
  });

  it('when the service runs on, then a temp file a killed write leaves after the first sweep is removed by a later one; once stopped, none is', async () => {
    const swept = () => infos.filter((message) => message === 'stale partial library files removed').length;
    service = await startFileOrganizer(config(), log, { partialSweep: { intervalMs: 100 } });
    await waitFor(() => swept() >= 1, 'the sweep after the start');
    // A filing killed mid-write and re-queued to another path: no write of the same path, no restart.
    const late = await staleFile('demo/ep01/sc001/kai/kai_v1_job_01.png.0123456789ab.partial');
    await waitFor(async () => !(await fileExists(late)), 'a later sweep removing the leftover', 10_000);
    await service.stop();
    service = undefined;
    const sweptAtStop = swept();
    const afterStop = await staleFile('demo/ep01/sc001/kai/kai_v1_job_02.png.0123456789ab.partial');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await fileExists(afterStop)).toBe(true);
    expect(swept()).toBe(sweptAtStop);
  });
});
