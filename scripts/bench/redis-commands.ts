import { createRedis } from '@anime/pipeline';

/** Calls of each command from INFO commandstats (`cmdstat_evalsha:calls=12,usec=…`). */
export function commandCallsFromInfo(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]] = Number(match[2]);
  return calls;
}

/**
 * Commands the Redis server has run so far, by command (the whole server's: the bench's share when
 * it runs alone); null when the server cannot be asked.
 */
export async function redisCommandCalls(redisUrl: string): Promise<Record<string, number> | null> {
  const redis = createRedis(redisUrl);
  try {
    return commandCallsFromInfo(await redis.info('commandstats'));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/** Commands run between two readings, per job, by command, the most frequent first. */
export function commandsPerJob(before: Record<string, number> | null, after: Record<string, number> | null, jobs: number): { command: string; perJob: number }[] | null {
  if (!before || !after || jobs <= 0) return null;
  return Object.entries(after)
    .map(([command, calls]) => ({ command, perJob: (calls - (before[command] ?? 0)) / jobs }))
    .filter((c) => c.perJob > 0)
    .sort((a, b) => b.perJob - a.perJob || a.command.localeCompare(b.command));
}
