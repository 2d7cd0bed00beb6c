import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gatewayConfigSchema, loadConfig } from '@anime/config';
import { createLogger } from '@anime/logger';
import { PARTIAL_GRACE_MS } from '@anime/media';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { startGateway, type RunningGateway } from '../src/start';

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const exists = (file: string) => stat(file).then(
  () => true,
  () => false,
);

/**
 * The sweep of stale temp files walks the whole library, millions of files in a studio's year: the
 * gateway must answer without waiting for it, and its stop must end it. The sweep is held at its
 * first removal (its `beforeRemove` seam), as a walk of a huge library would be.
 */
describe('gateway start and the stale temp files sweep (in-process, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let libraryDir: string;
  let gateway: RunningGateway | undefined;
  const queuePrefix = uniqueQueuePrefix('gw-partial-sweep');
  const log = createLogger('gateway', 'error');
  const infos: string[] = [];
  jest.spyOn(log, 'info').mockImplementation(((message: string) => {
    infos.push(message);
    return log;
  }) as never);

  beforeAll(async () => {
    database = await createTestDatabase('gw-partial-sweep');
  });
  beforeEach(async () => {
    libraryDir = await mkdtemp(path.join(tmpdir(), 'gw-partial-sweep-library-'));
    infos.length = 0;
  });
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await rm(libraryDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  const staleFile = async (relative = 'references/kai/face.png.0123456789ab.partial') => {
    const file = path.join(libraryDir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'x');
    const when = new Date(Date.now() - PARTIAL_GRACE_MS * 2);
    await utimes(file, when, when);
    return file;
  };
  const config = () => loadConfig(gatewayConfigSchema, { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, PORT: '0' });
  const held = () => {
    const release = gate();
    const reached = gate();
    const beforeRemove = () => {
      reached.open();
      return release.opened;
    };
    return { release: release.open, reached: reached.opened, beforeRemove };
  };

  it('when the sweep has not ended, then the gateway is ready already; the sweep ends after, and is logged', async () => {
    const file = await staleFile();
    const sweep = held();
    gateway = await startGateway(config(), log, '127.0.0.1', { partialSweep: { beforeRemove: sweep.beforeRemove } });
    const readyz = await fetch(`http://127.0.0.1:${gateway.port}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await exists(file)).toBe(true);
    expect(infos).not.toContain('stale partial library files removed');
    await sweep.reached;
    sweep.release();
    await waitFor(() => infos.includes('stale partial library files removed'), 'the sweep logged as done');
    expect(await exists(file)).toBe(false);
  });

  it('when the gateway stops while the sweep is about to remove, then nothing is removed after the stop', async () => {
    const file = await staleFile();
    const sweep = held();
    gateway = await startGateway(config(), log, '127.0.0.1', { partialSweep: { beforeRemove: sweep.beforeRemove } });
    await sweep.reached;
    const stopping = gateway.stop();
    sweep.release();
    await stopping;
    gateway = undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await exists(file)).toBe(true);
    expect(infos).toContain('stale partial library files sweep stopped');
  });

  it('when the gateway runs on, then a temp file a killed write leaves after the first sweep is removed by a later one; once stopped, none is', async () => {
    const swept = () => infos.filter((message) => message === 'stale partial library files removed').length;
    gateway = await startGateway(config(), log, '127.0.0.1', { partialSweep: { intervalMs: 100 } });
    await waitFor(() => swept() >= 1, 'the sweep after the start');
    // No restart follows the killed write: only a later sweep can take its temp file away.
    const late = await staleFile('references/kai/side.png.0123456789ab.partial');
    await waitFor(async () => !(await exists(late)), 'a later sweep removing the leftover', 10_000);
    await gateway.stop();
    gateway = undefined;
    const sweptAtStop = swept();
    const afterStop = await staleFile('references/kai/back.png.0123456789ab.partial');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await exists(afterStop)).toBe(true);
    expect(swept()).toBe(sweptAtStop);
  });
});
