import { randomBytes } from 'node:crypto';

/** A BullMQ prefix of its own for one test file, so suites can run side by side on one Redis. */
export function uniqueQueuePrefix(label = 'test'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
