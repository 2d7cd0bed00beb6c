import { gatewayConfigSchema, loadConfig } from '@anime/config';
import { createLogger } from '@anime/logger';
import { PARTIAL_GRACE_MS } from '@anime/media';
import { fileExists, heldSeam, TEST_REDIS_URL, useStalePartialsLibrary, waitFor } from '@anime/testing';
import { startGateway, type RunningGateway } from '../src/start';

/**
 * The sweep of stale temp files walks the whole library, millions of files in a studio's year: the
 * gateway must answer without waiting for it, and its stop must end it. The sweep is held at its
 * first removal (its `beforeRemove` seam), as a walk of a huge library would be.
 */
describe('gateway start and the stale temp files sweep (in-process, PostgreSQL, Redis)', () => {
  let gateway: RunningGateway | undefined;
  const log = createLogger('gateway', 'error');
  const library = useStalePartialsLibrary({
    label: 'gw-partial-sweep',
    log,
    graceMs: PARTIAL_GRACE_MS,
    stopService: async () => {
      await gateway?.stop();
      gateway = undefined;
    },
  });
  const { infos } = library;

  const staleFile = (relative = 'references/kai/face.png.0123456789ab.partial') => library.staleFile(relative);
  const config = () => loadConfig(gatewayConfigSchema, { DATABASE_URL: library.database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: library.queuePrefix, LIBRARY_DIR: library.dir, PORT: '0' });

  it('when the sweep has not ended, then the gateway is ready already; the sweep ends after, and is logged', async () => {
    const file = await staleFile();
    const sweep = heldSeam();
    gateway = await startGateway(config(), log, '127.0.0.1', { partialSweep: { beforeRemove: sweep.hold } });
    const readyz = await fetch(`http://127.0.0.1:${gateway.port}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await fileExists(file)).toBe(true);
    expect(infos).not.toContain('stale partial library files removed');
    await sweep.reached;
    sweep.release();
    await waitFor(() => infos.includes('stale partial library files removed'), 'the sweep logged as done');
    expect(await fileExists(file)).toBe(false);
  });

  it('when the gateway stops while the sweep is about to remove, then nothing is removed after the stop', async () => {
    const file = await staleFile();
    const sweep = heldSeam();
    gateway = await startGateway(config(), log, '127.0.0.1', { partialSweep: { beforeRemove: sweep.hold } });
    await sweep.reached;
    const stopping = gateway.stop();
    sweep.release();
    await stopping;
    gateway = undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await fileExists(file)).toBe(true);
    expect(infos).toContain('stale partial library files sweep stopped');
  });

  it('when the gateway runs on, then a temp file a killed write leaves after the first sweep is removed by a later one; once stopped, none is', async () => {
    const swept = () => infos.filter((message) => message === 'stale partial library files removed').length;
    gateway = await startGateway(config(), log, '127.0.0.1', { partialSweep: { intervalMs: 100 } });
    await waitFor(() => swept() >= 1, 'the sweep after the start');
    // No restart follows the killed write: only a later sweep can take its temp file away.
    const late = await staleFile('references/kai/side.png.0123456789ab.partial');
    await waitFor(async () => !(await fileExists(late)), 'a later sweep removing the leftover', 10_000);
    await gateway.stop();
    gateway = undefined;
    const sweptAtStop = swept();
    const afterStop = await staleFile('references/kai/back.png.0123456789ab.partial');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await fileExists(afterStop)).toBe(true);
    expect(swept()).toBe(sweptAtStop);
  });
});
