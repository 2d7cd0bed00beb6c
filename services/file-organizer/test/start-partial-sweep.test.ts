import { fileOrganizerConfigSchema } from '@anime/config';
import { createLogger } from '@anime/logger';
import { PARTIAL_GRACE_MS } from '@anime/media';
import { describeStalePartialsSweep, TEST_REDIS_URL } from '@anime/testing';
import { startFileOrganizer } from '../src/start';

const log = createLogger('file-organizer', 'error');

/**
 * The sweep of stale temp files walks the whole library, millions of files in a studio's year: the
 * file-organizer must be ready without waiting for it, and its shutdown must end it. The sweep is
 * held at its first removal (its `beforeRemove` seam), as a walk of a huge library would be.
 */
describeStalePartialsSweep('file-organizer start and the stale temp files sweep (in-process, PostgreSQL, Redis)', {
  name: 'service',
  label: 'fo-partial-sweep',
  log,
  graceMs: PARTIAL_GRACE_MS,
  // A filing killed mid-write and re-queued to another path leaves the second.
  staleFiles: ['demo/ep01/sc001/kai/kai_v1_job_00.png.0123456789ab.partial', 'demo/ep01/sc001/kai/kai_v1_job_01.png.0123456789ab.partial', 'demo/ep01/sc001/kai/kai_v1_job_02.png.0123456789ab.partial'],
  start: async (library, partialSweep) => {
    const config = fileOrganizerConfigSchema.parse({ DATABASE_URL: library.database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: library.queuePrefix, LIBRARY_DIR: library.dir, FILE_ORGANIZER_PORT: '0' });
    const service = await startFileOrganizer(config, log, { partialSweep });
    return { port: service.ops.port(), stop: () => service.stop() };
  },
});
