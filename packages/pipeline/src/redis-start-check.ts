import type { Redis } from 'ioredis';

/**
 * A service's first words with Redis: fails naming REDIS_URL (never its value) when Redis refuses
 * the URL's login or its database index, instead of ioredis logging in again forever or, for an
 * index the server does not have, only emitting an error and carrying on in database 0. Redis
 * being down is waited for, as before (the connection retries). Redis's reply is kept, as it names
 * the problem (WRONGPASS, NOAUTH, ERR DB index is out of range); the password is cut out of it
 * should a server ever echo it.
 */
export async function checkRedisAtStart(redis: Redis): Promise<void> {
  try {
    await redis.ping();
  } catch (error) {
    throw new Error(`REDIS_URL: Redis refused the connection (${replyOf(redis, error)})`);
  }
  try {
    await redis.select(Number(redis.options.db ?? 0));
  } catch (error) {
    throw new Error(`REDIS_URL: Redis refused the database index (${replyOf(redis, error)})`);
  }
}

function replyOf(redis: Redis, error: unknown): string {
  return withoutSecret(String((error as Error)?.message ?? error), redis.options.password);
}

/**
 * `text` with each whole-word occurrence of `secret` cut out. Whole words only: a short password
 * ("p") cut wherever its letters occur turned "WRONGPASS invalid username-password pair" into
 * "username-***assword ***air", which also showed what it hid.
 */
export function withoutSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])`, 'g'), '***');
}
