import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '@anime/stack';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';

// The stack's readiness is asked where the services' ops endpoints listen: OPS_HOST, not always 127.0.0.1.

describe('a stack whose ops endpoints listen on OPS_HOST=::1', () => {
  let database: TestDatabase;
  let libraryDir: string;
  let outputDir: string;
  const queuePrefix = uniqueQueuePrefix('ops-host');
  let stack: Stack | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('ops-host');
    libraryDir = await mkdtemp(path.join(tmpdir(), 'ops-host-library-'));
    outputDir = await mkdtemp(path.join(tmpdir(), 'ops-host-comfy-out-'));
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
    await rm(outputDir, { recursive: true, force: true });
  });

  it('when every service starts, then the stack is ready, polling the workers on [::1]', async () => {
    stack = await startStack({ databaseUrl: database.url, redisUrl: TEST_REDIS_URL, queuePrefix, libraryDir, simulatorOutputDir: outputDir, simulatorStepMs: 5, extraEnv: { OPS_HOST: '::1' } });
    for (const name of ['character', 'orchestrator', 'file-organizer'] as const) {
      expect(stack.readyUrls[name]).toMatch(/^http:\/\/\[::1\]:\d+\/readyz$/);
      expect((await fetch(stack.readyUrls[name])).status).toBe(200);
    }
    expect(stack.readyUrls.gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/readyz$/);
  }, 150_000);
});
