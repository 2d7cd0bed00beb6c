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
  const text = String((error as Error)?.message ?? error);
  const password = redis.options.password;
  return password ? text.split(password).join('***') : text;
}
