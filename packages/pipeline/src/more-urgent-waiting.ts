import type { Redis } from 'ioredis';

/** The wait list's jobs read from its tail, where workers take from; past them a job goes back without reading on. */
export const WAIT_LIST_LOOK = 100;

/** A queue's keys that say what waits: BullMQ's prioritized set and plain wait list, and the prefix of its job hashes. */
export interface WaitingKeys {
  prioritized: string;
  wait: string;
  /** `<prefix>:<queue>:`, what a job id is appended to for its hash. */
  jobPrefix: string;
}

/**
 * Whether a job of `priority` (BullMQ's: lower is more urgent, 0 none) that the stall check put back
 * should go back behind what waits, in one script (one round trip): a prioritized job more urgent
 * (its score is its priority × 2^32 plus a counter), or a job put back with it by the stall check
 * (on the plain wait list, which workers take before any prioritized job) more urgent among the
 * WAIT_LIST_LOOK nearest the tail, or a wait list longer than that. So long a list is not read on:
 * each of its jobs read it whole before (every orchestrator killed holding 1,000 each, 3,000 jobs
 * read ~4.5 million job hashes, Redis blocked ~8 ms a job, ~12 s in all; 10,000 about a minute),
 * and a job that goes back takes the front of its own priority (moveToWait), so once the list is
 * drained each runs in the order of its priority, as when the whole list was read.
 */
export async function moreUrgentWaiting(client: Redis, keys: WaitingKeys, priority: number): Promise<boolean> {
  return (await client.eval(MORE_URGENT_WAITING, 2, keys.prioritized, keys.wait, keys.jobPrefix, priority, WAIT_LIST_LOOK)) === 1;
}

const MORE_URGENT_WAITING = `
local priority = tonumber(ARGV[2])
local look = tonumber(ARGV[3])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] and math.floor(tonumber(first[2]) / 4294967296) < priority then return 1 end
local ids = redis.call('LRANGE', KEYS[2], -look, -1)
for i = #ids, 1, -1 do
  local p = tonumber(redis.call('HGET', ARGV[1] .. ids[i], 'priority')) or 0
  if p > 0 and p < priority then return 1 end
end
if redis.call('LLEN', KEYS[2]) > look then return 1 end
return 0`;
