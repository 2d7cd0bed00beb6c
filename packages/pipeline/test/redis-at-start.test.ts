import { format } from 'node:util';
import type { Logger } from '@anime/logger';
import { refusedRedisUrls, TEST_REDIS_URL, uniqueQueuePrefix, waitFor } from '@anime/testing';
import { bounded } from '../src/bounded';
import { createPipelineQueues } from '../src/queues';
import { createRedis } from '../src/redis';
import { checkRedisAtStart } from '../src/redis-start-check';

const { password, wrongLogin, missingDatabase } = refusedRedisUrls();

/** A logger keeping each line as text. */
function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const record = (message: string, meta?: unknown) => void lines.push(`${message} ${JSON.stringify(meta ?? {})}`);
  const log = { error: record, warn: record, info: record, debug: record } as unknown as Logger;
  return { log, lines };
}

describe('Redis refusing a service at start', () => {
  let printed: jest.SpyInstance[];
  const printedText = () => printed.flatMap((spy) => spy.mock.calls.map((args) => format(...args))).join('\n');

  beforeEach(() => {
    printed = (['error', 'warn', 'log'] as const).map((method) => jest.spyOn(console, method).mockImplementation(() => undefined));
  });
  afterEach(() => printed.forEach((spy) => spy.mockRestore()));

  it('when Redis refuses the login of REDIS_URL, then the start check fails naming REDIS_URL, and neither the log nor the console gets the password', async () => {
    const { log, lines } = recordingLog();
    const redis = createRedis(wrongLogin, 'worker', log);
    const queues = createPipelineQueues(redis, uniqueQueuePrefix('redis-refused'), {}, log);
    try {
      const refused = await checkRedisAtStart(redis).then(
        () => null,
        (error: Error) => error,
      );
      expect(refused?.message).toMatch(/^REDIS_URL: Redis refused the connection \(WRONGPASS/);
      // ioredis logs in again and again; each queue sees the refusals too.
      await waitFor(() => lines.filter((line) => line.includes('WRONGPASS')).length >= 2, 'the refusals in the log', 5_000);
      expect(lines.join('\n') + printedText() + refused!.message).not.toContain(password);
      expect(printedText()).toBe('');
    } finally {
      redis.disconnect();
      await bounded(queues.close(), 2_000);
    }
  });

  it('when the server has no database of the index in REDIS_URL, then the start check fails naming REDIS_URL instead of carrying on in database 0', async () => {
    const { log } = recordingLog();
    const redis = createRedis(missingDatabase, 'worker', log);
    try {
      await expect(checkRedisAtStart(redis)).rejects.toThrow(/^REDIS_URL: Redis refused the database index \(ERR DB index is out of range\)/);
      expect(printedText()).toBe('');
    } finally {
      redis.disconnect();
    }
  });

  it('when REDIS_URL is right, then the check passes', async () => {
    const { log, lines } = recordingLog();
    const redis = createRedis(TEST_REDIS_URL, 'worker', log);
    try {
      await checkRedisAtStart(redis);
      expect(lines).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
