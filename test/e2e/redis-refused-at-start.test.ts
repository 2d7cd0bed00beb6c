import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, type ProgramName } from '@anime/stack';
import { createTestDatabase, refusedRedisUrls, removeQueueKeys, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { runToExit } from './run-to-exit';

// Each service, and `pnpm start`, run as processes with a REDIS_URL Redis refuses: they stop at
// start naming REDIS_URL, and nothing they print holds the URL's password.

const { password, wrongLogin, missingDatabase, nonNumericDatabase } = refusedRedisUrls();

const SERVICES: ProgramName[] = ['gateway', 'character', 'orchestrator', 'file-organizer'];

describe('a service whose REDIS_URL Redis refuses', () => {
  let database: TestDatabase;
  let libraryDir: string;
  const queuePrefix = uniqueQueuePrefix('redis-refused');
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    database = await createTestDatabase('redis-refused');
    libraryDir = await mkdtemp(path.join(tmpdir(), 'redis-refused-library-'));
    env = { DATABASE_URL: database.url, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, COMFYUI_URLS: 'http://127.0.0.1:9', PORT: '0', CHARACTER_PORT: '0', ORCHESTRATOR_PORT: '0', FILE_ORGANIZER_PORT: '0', LOG_LEVEL: 'info' };
  });

  afterAll(async () => {
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
  });

  it('when the login is refused, then each service exits 1 naming REDIS_URL, and its output never holds the password', async () => {
    const ends = await Promise.all(SERVICES.map((program) => runToExit(program, { ...env, REDIS_URL: wrongLogin })));
    ends.forEach((end, i) => {
      const what = `${SERVICES[i]}:\n${end.output}`;
      expect({ what, code: end.code }).toEqual({ what, code: 1 });
      expect(end.output).toMatch(/failed to start: REDIS_URL: Redis refused the connection \(WRONGPASS/);
      expect(end.output).not.toContain(password);
      expect(end.output).not.toMatch(/AUTH|Unhandled error event/);
    });
  }, 60_000);

  it('when the server has no database of the index in REDIS_URL, then each service exits 1 at start naming REDIS_URL instead of running on', async () => {
    const ends = await Promise.all(SERVICES.map((program) => runToExit(program, { ...env, REDIS_URL: missingDatabase })));
    ends.forEach((end, i) => {
      const what = `${SERVICES[i]}:\n${end.output}`;
      expect({ what, code: end.code }).toEqual({ what, code: 1 });
      expect(end.output).toMatch(/failed to start: REDIS_URL: Redis refused the database index \(ERR DB index is out of range\)/);
      expect(end.output).not.toMatch(/Unhandled error event/);
    });
  }, 60_000);

  it('when the database index is not a number, then each service exits 2 naming REDIS_URL, not its value', async () => {
    const ends = await Promise.all(SERVICES.map((program) => runToExit(program, { ...env, REDIS_URL: nonNumericDatabase })));
    ends.forEach((end, i) => {
      const what = `${SERVICES[i]}:\n${end.output}`;
      expect({ what, code: end.code }).toEqual({ what, code: 2 });
      expect(end.output).toMatch(/- REDIS_URL: the database index/);
      expect(end.output).not.toMatch(/abc|SimpleError|NaN/);
    });
  }, 60_000);

  it('when pnpm start runs on a refused login, then it exits 1 naming REDIS_URL, and never prints the password', async () => {
    const ports = Object.fromEntries(await Promise.all(['PORT', 'CHARACTER_PORT', 'ORCHESTRATOR_PORT', 'FILE_ORGANIZER_PORT'].map(async (name) => [name, String(await freePort())])));
    const end = await runToExit('start', { ...env, ...ports, REDIS_URL: wrongLogin, STACK_RUN_FROM: 'dist' }, 45_000);
    expect({ code: end.code, output: end.output }).toEqual({ code: 1, output: expect.stringContaining('REDIS_URL: Redis refused the connection') });
    expect(end.output).not.toContain(password);
    expect(end.output).not.toMatch(/AUTH|Unhandled error event/);
  }, 60_000);
});
