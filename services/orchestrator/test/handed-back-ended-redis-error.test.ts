import { randomUUID } from 'node:crypto';
import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL } from '@anime/testing';
import { SharedHandBacks } from '../src/domain/backends/shared-hand-backs';
import { startBackendPoolsFixture, type BackendPoolsFixture } from './backend-pools-fixture';

/**
 * A render job whose generation was canceled while it was handed back ends in its stage's settle,
 * which takes it out of the shared lines (handedBackEnded). The lines are a convenience (a job in
 * them that ended is dropped once reached, and a line expires): a Redis error there must not make
 * the settle throw, which fails the job's attempt (retried, then failed in BullMQ) instead of ending it.
 */
describe('BackendPool.handedBackEnded while the shared lines cannot be reached (simulator, Redis, PostgreSQL)', () => {
  let fx: BackendPoolsFixture;

  beforeAll(async () => {
    fx = await startBackendPoolsFixture('rvo-ended');
  });

  afterAll(() => fx?.close());

  it('when the Redis call that takes a canceled job out of the lines fails, then handedBackEnded still resolves (the failure logged)', async () => {
    // The lines' own connection, closed: every call on it fails as a Redis outage or reset does.
    const broken = createRedis(TEST_REDIS_URL);
    await broken.quit();
    const warnings: string[] = [];
    const log = createLogger('orchestrator', 'warn');
    for (const transport of log.transports) transport.silent = true;
    log.on('data', (line: { level: string; message: string }) => void (line.level === 'warn' && warnings.push(line.message)));
    const shared = new SharedHandBacks({ redis: broken, queue: fx.renders(), queuePrefix: fx.queuePrefix, urls: [fx.simulators[0].url] });
    const pool = await fx.startPool({ shared, log });

    // Before: it rejected with the Redis error ("Connection is closed."), and the settle threw it.
    await expect(pool.handedBackEnded(`render-${randomUUID()}`)).resolves.toBeUndefined();
    expect(warnings.some((message) => /shared lines/.test(message))).toBe(true);
  }, 30_000);
});
