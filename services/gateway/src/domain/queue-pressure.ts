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

/** Generations waiting for a backend; counted up to `upTo` at most when given (an index range, cheap). */
export function queueDepth(db: Db, upTo?: number): Promise<number> {
  return db.generationJob.count({ where: { status: 'queued' }, ...(upTo ? { take: upTo } : {}) });
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
 * counted): waiting generations on (status, createdAt), the key's on (apiKeyId, status). `ofKey` is
 * the condition picking the key's generations; `depthCap` and `keyCap` the parameters holding the caps.
 */
export const queueRoomColumns = (ofKey: string, depthCap: string, keyCap: string) => `
  (SELECT count(*) FROM (SELECT 1 FROM generation_jobs WHERE status = 'queued' LIMIT ${depthCap}) AS waiting)::int AS depth,
  (SELECT count(*) FROM (SELECT 1 FROM generation_jobs WHERE ${ofKey} AND status IN ('queued', 'running') LIMIT ${keyCap}) AS mine)::int AS "ofKey"`;
// The local caller of AUTH_MODE=off (no key) counts the keyless generations made over the API.
const QUEUE_ROOM_OF_KEY = { name: 'gateway-queue-room-of-key', text: `SELECT ${queueRoomColumns(`"apiKeyId" = $3::uuid`, '$1', '$2')}` };
const QUEUE_ROOM_KEYLESS = { name: 'gateway-queue-room-keyless', text: `SELECT ${queueRoomColumns(`"apiKeyId" IS NULL AND source = 'api'`, '$1', '$2')}` };

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
