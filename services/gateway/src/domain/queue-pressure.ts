import { readRows, type Db } from '@anime/db';
import { ApiError } from '../http/api-error';

/** Asked of a refused caller: long enough for a backend to finish a few jobs. */
export const QUEUE_FULL_RETRY_AFTER_S = 10;

export interface QueueCaps {
  /** MAX_QUEUED_PER_KEY: a key's generations not yet terminal (queued or running). */
  maxQueuedPerKey: number;
  /** MAX_QUEUE_DEPTH: generations waiting (queued), every key together. */
  maxQueueDepth: number;
}

export class QueueFullError extends ApiError {
  constructor(message: string, details: unknown) {
    super(429, 'queue_full', message, details);
  }
}

const QUEUE_DEPTH = { name: 'gateway-queue-depth', text: 'SELECT generation_queue_depth($1::int) AS depth' };

/** Generations waiting for a backend; counted up to `upTo` at most when given (an index range, cheap). */
export async function queueDepth(db: Db, upTo?: number): Promise<number> {
  const [{ depth }] = await readRows<{ depth: number }>(db, QUEUE_DEPTH, [upTo || null]);
  return depth;
}

/** What the queue holds now, each count stopped at its cap. */
export interface QueueRoom {
  /** Generations waiting (queued), every key together. */
  depth: number;
  /** The caller's generations not yet terminal (queued or running). */
  ofKey: number;
}

/**
 * Both counts as two columns, each an index range stopped at its cap (so never more than the cap is
 * counted): waiting generations on (status, createdAt), the key's on (apiKeyId, status), in a
 * migration's functions (generation_queue_depth, generation_active_count) that keep them on those
 * indexes whatever the statistics say: written here, the planner read each as a whole-table scan
 * under statistics taken while a backlog was queued. `apiKey` is the key's id (SQL), or NULL with
 * `producer` the source whose keyless generations count; `depthCap` and `keyCap` the parameters
 * holding the caps.
 */
export const queueRoomColumns = (apiKey: string, producer: string, depthCap: string, keyCap: string) => `
  generation_queue_depth(${depthCap}::int) AS depth, generation_active_count(${apiKey}, ${producer}, ${keyCap}::int) AS "ofKey"`;
// The local caller of AUTH_MODE=off (no key) counts the keyless generations made over the API.
const QUEUE_ROOM_OF_KEY = { name: 'gateway-queue-room-of-key', text: `SELECT ${queueRoomColumns('$3::uuid', 'NULL', '$1', '$2')}` };
const QUEUE_ROOM_KEYLESS = { name: 'gateway-queue-room-keyless', text: `SELECT ${queueRoomColumns('NULL', `'api'`, '$1', '$2')}` };

/**
 * The queue's counts for a new (or retried) generation, read exactly in one statement that
 * bypasses Prisma's interpreter. `keyId` null is the local caller of AUTH_MODE=off: generations
 * made over the API without a key.
 */
export async function readQueueRoom(db: Db, caps: QueueCaps, keyId: string | null): Promise<QueueRoom> {
  const [room] = await readRows<QueueRoom>(
    db,
    keyId ? QUEUE_ROOM_OF_KEY : QUEUE_ROOM_KEYLESS,
    keyId ? [caps.maxQueueDepth, caps.maxQueuedPerKey, keyId] : [caps.maxQueueDepth, caps.maxQueuedPerKey],
  );
  return room;
}

/** 429 queue_full, scope `key`: the caller's generations queued or running are at MAX_QUEUED_PER_KEY. */
export function keyQueueFull(maxQueuedPerKey: number): QueueFullError {
  return new QueueFullError(`this key already has ${maxQueuedPerKey} generations queued or running, its limit; retry once some finish`, {
    scope: 'key',
    limit: maxQueuedPerKey,
    retryAfterS: QUEUE_FULL_RETRY_AFTER_S,
  });
}

/**
 * Refuses a new (or retried) generation early (before its cost is charged and its request
 * resolved) when the queue, or this key's share of it, is full by these counts. For the key's
 * share this is a pre-check: the write itself counts again under the key's lock
 * (JobLifecycle.createWithinCap), which is what holds MAX_QUEUED_PER_KEY exactly against racing
 * requests and other gateways. MAX_QUEUE_DEPTH is held by these counts alone: requests racing each
 * other may overshoot it by how many are in flight at once (and see QueueRoomBounds).
 */
export function assertQueueRoom(caps: QueueCaps, room: QueueRoom): void {
  if (room.depth >= caps.maxQueueDepth) {
    throw new QueueFullError(`the queue holds ${caps.maxQueueDepth} waiting generations, its limit; retry later`, { scope: 'global', limit: caps.maxQueueDepth, retryAfterS: QUEUE_FULL_RETRY_AFTER_S });
  }
  if (room.ofKey >= caps.maxQueuedPerKey) throw keyQueueFull(caps.maxQueuedPerKey);
}
