import { gatewayConfigSchema, loadConfig } from '@anime/config';
import { createLogger } from '@anime/logger';
import { PARTIAL_GRACE_MS } from '@anime/media';
import { describeStalePartialsSweep, TEST_REDIS_URL } from '@anime/testing';
import { startGateway } from '../src/start';

const log = createLogger('gateway', 'error');

/**
 * The sweep of stale temp files walks the whole library, millions of files in a studio's year: the
 * gateway must answer without waiting for it, and its stop must end it. The sweep is held at its
 * first removal (its `beforeRemove` seam), as a walk of a huge library would be.
 */
describeStalePartialsSweep('gateway start and the stale temp files sweep (in-process, PostgreSQL, Redis)', {
  name: 'gateway',
  label: 'gw-partial-sweep',
  log,
  graceMs: PARTIAL_GRACE_MS,
  staleFiles: ['references/kai/face.png.0123456789ab.partial', 'references/kai/side.png.0123456789ab.partial', 'references/kai/back.png.0123456789ab.partial'],
  start: async (library, partialSweep) => {
    const config = loadConfig(gatewayConfigSchema, { DATABASE_URL: library.database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: library.queuePrefix, LIBRARY_DIR: library.dir, PORT: '0' });
    const gateway = await startGateway(config, log, '127.0.0.1', { partialSweep });
    return { port: gateway.port, stop: () => gateway.stop() };
  },
});
