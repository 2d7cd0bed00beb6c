import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileOrganizerConfigSchema } from '@anime/config';
import { createLogger } from '@anime/logger';
import { PARTIAL_GRACE_MS } from '@anime/media';
import type { RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { startFileOrganizer } from '../src/start';

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
 * file-organizer must be ready without waiting for it, and its shutdown must end it. The sweep is
 * held at its first removal (its `beforeRemove` seam), as a walk of a huge library would be.
 */
describe('file-organizer start and the stale temp files sweep (in-process, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let libraryDir: string;
  let service: RunningService | undefined;
  const queuePrefix = uniqueQueuePrefix('fo-partial-sweep');
  const log = createLogger('file-organizer', 'error');
  const infos: string[] = [];
  jest.spyOn(log, 'info').mockImplementation(((message: string) => {
    infos.push(message);
    return log;
  }) as never);

  beforeAll(async () => {
    database = await createTestDatabase('fo-partial-sweep');
  });
  beforeEach(async () => {
    libraryDir = await mkdtemp(path.join(tmpdir(), 'fo-partial-sweep-library-'));
    infos.length = 0;
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await rm(libraryDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  const staleFile = async (relative = 'demo/ep01/sc001/kai/kai_v1_job_00.png.0123456789ab.partial') => {
    const file = path.join(libraryDir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'x');
    const when = new Date(Date.now() - PARTIAL_GRACE_MS * 2);
    await utimes(file, when, when);
    return file;
  };
  const config = () => fileOrganizerConfigSchema.parse({ DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, FILE_ORGANIZER_PORT: '0' });
  const readyz = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

  it('when the sweep has not ended, then the service is ready already; the sweep ends after, and is logged', async () => {
    const file = await staleFile();
    const held = gate();
    const reached = gate();
    service = await startFileOrganizer(config(), log, {
      partialSweep: {
        beforeRemove: () => {
          reached.open();
          return held.opened;
        },
      },
    });
    // Ready, the sweep still under way: the stale file is still there and no end was logged.
    expect(await readyz(service.ops.port())).toBe(200);
    expect(await exists(file)).toBe(true);
    expect(infos).not.toContain('stale partial library files removed');
    await reached.opened;
    held.open();
    await waitFor(() => infos.includes('stale partial library files removed'), 'the sweep logged as done');
    expect(await exists(file)).toBe(false);
    expect(await readyz(service.ops.port())).toBe(200);
  });

  it('when the service stops while the sweep is about to remove, then nothing is removed after the stop', async () => {
    const file = await staleFile();
    const held = gate();
    const reached = gate();
    service = await startFileOrganizer(config(), log, {
      partialSweep: {
        beforeRemove: () => {
          reached.open();
          return held.opened;
        },
      },
    });
    await reached.opened;
    const stopping = service.stop();
    held.open();
    await stopping;
    service = undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await exists(file)).toBe(true);
    expect(infos).toContain('stale partial library files sweep stopped');
  });

  it('when the service runs on, then a temp file a killed write leaves after the first sweep is removed by a later one; once stopped, none is', async () => {
    const swept = () => infos.filter((message) => message === 'stale partial library files removed').length;
    service = await startFileOrganizer(config(), log, { partialSweep: { intervalMs: 100 } });
    await waitFor(() => swept() >= 1, 'the sweep after the start');
    // A filing killed mid-write and re-queued to another path: no write of the same path, no restart.
    const late = await staleFile('demo/ep01/sc001/kai/kai_v1_job_01.png.0123456789ab.partial');
    await waitFor(async () => !(await exists(late)), 'a later sweep removing the leftover', 10_000);
    await service.stop();
    service = undefined;
    const sweptAtStop = swept();
    const afterStop = await staleFile('demo/ep01/sc001/kai/kai_v1_job_02.png.0123456789ab.partial');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await exists(afterStop)).toBe(true);
    expect(swept()).toBe(sweptAtStop);
  });
});
