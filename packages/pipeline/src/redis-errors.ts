import type { Logger } from '@anime/logger';

/** Anything that reports Redis trouble as 'error' events: an ioredis client, a BullMQ Queue or Worker. */
interface ErrorSource {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The same error from one source (a client logging in again and again) is logged once per this long. */
const REPEAT_AFTER_MS = 60_000;

/**
 * Logs a Redis object's 'error' events as their message alone. Without a listener BullMQ prints the
 * error object with console.error, and ioredis keeps the failed command on it with its arguments: a
 * refused login's HELLO/AUTH carries REDIS_URL's password. A reconnecting client repeats its error
 * on every try, so one message is logged once a minute per source.
 */
export function reportRedisErrors<T extends ErrorSource>(source: T, log: Logger, what: string, clock: { now(): number } = Date): T {
  let last: { message: string; at: number } | undefined;
  source.on('error', (error: Error) => {
    const message = String(error?.message ?? error);
    const now = clock.now();
    if (last && last.message === message && now - last.at < REPEAT_AFTER_MS) return;
    last = { message, at: now };
    log.warn('redis error', { source: what, error: message });
  });
  return source;
}
