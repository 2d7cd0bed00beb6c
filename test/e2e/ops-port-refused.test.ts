import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceProcess, type ProgramName } from '@anime/stack';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { runToExit } from './run-to-exit';

// The worker services as processes whose ops port (or OPS_HOST) cannot be listened on: each stops
// at start naming the port or host and its variable, and `pnpm start`'s supervisor tells a port clash.

const WORKERS: { program: ProgramName; variable: string }[] = [
  { program: 'character', variable: 'CHARACTER_PORT' },
  { program: 'orchestrator', variable: 'ORCHESTRATOR_PORT' },
  { program: 'file-organizer', variable: 'FILE_ORGANIZER_PORT' },
];

const holdPort = () =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });

describe('a worker service whose ops port cannot be listened on', () => {
  let database: TestDatabase;
  let libraryDir: string;
  const queuePrefix = uniqueQueuePrefix('ops-port');
  let env: NodeJS.ProcessEnv;
  let holder: Server;
  let taken: number;

  beforeAll(async () => {
    database = await createTestDatabase('ops-port');
    libraryDir = await mkdtemp(path.join(tmpdir(), 'ops-port-library-'));
    env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, COMFYUI_URLS: 'http://127.0.0.1:9', CHARACTER_PORT: '0', ORCHESTRATOR_PORT: '0', FILE_ORGANIZER_PORT: '0' };
    holder = await holdPort();
    taken = (holder.address() as AddressInfo).port;
  });

  afterAll(async () => {
    holder?.close();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
  });

  it('when its port is taken, then each exits 1 with one line naming the port and its variable', async () => {
    const ends = await Promise.all(WORKERS.map(({ program, variable }) => runToExit(program, { ...env, [variable]: String(taken) })));
    ends.forEach((end, i) => {
      const { variable } = WORKERS[i];
      expect({ code: end.code, output: end.output }).toEqual({ code: 1, output: expect.stringContaining(`failed to start: port ${taken} (${variable}) on 127.0.0.1 (OPS_HOST) is already in use (EADDRINUSE)`) });
      expect(end.output).not.toMatch(/Cannot read properties/);
    });
  }, 60_000);

  it.each([
    ['192.0.2.1', /failed to start: OPS_HOST is not an address of this machine \(EADDRNOTAVAIL\)/],
    ['no-such-host.invalid', /failed to start: OPS_HOST cannot be resolved \((ENOTFOUND|EAI_AGAIN)\)/],
  ])('when OPS_HOST is %s, then each exits 1 naming OPS_HOST', async (opsHost, expected) => {
    const ends = await Promise.all(WORKERS.map(({ program }) => runToExit(program, { ...env, OPS_HOST: opsHost })));
    for (const end of ends) {
      expect({ code: end.code, output: end.output }).toEqual({ code: 1, output: expect.stringMatching(expected) });
      expect(end.output).not.toMatch(/Cannot read properties/);
      expect(end.output).not.toContain(opsHost);
    }
  }, 60_000);

  it('when a supervised worker is (re)started on a taken port, then the supervisor says the port and its variable are in use', async () => {
    const service = new ServiceProcess({
      name: 'character',
      program: 'character',
      env: { ...env, CHARACTER_PORT: String(taken) },
      readyUrl: `http://127.0.0.1:${taken}/readyz`,
      port: { value: taken, variable: 'CHARACTER_PORT' },
    });
    await expect(service.start(30_000)).rejects.toThrow(`character: port ${taken} (CHARACTER_PORT) is already in use`);
  }, 60_000);
});
