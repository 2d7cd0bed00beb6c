import type { Request, Response } from 'express';
import type { KeyRowFinder } from '@anime/api-keys';
import type { Db } from '@anime/db';
import { countRateLimitRefusal } from '@anime/pipeline';
import { keyAndQueueRoomFinder } from '../../data/find-key-with-queue-room';
import { keyRowFinder } from '../../data/find-key-row';
import { assertQueueRoom, QUEUE_FULL_RETRY_AFTER_S, QueueFullError, queueDepth, readQueueRoom, type QueueRoom } from '../../domain/queue-pressure';
import type { QueueRoomBounds } from '../../domain/queue-room-bounds';
import { callerOf } from '../auth/caller';

/** What the key lookup of this request settled: a place already taken on the bounds, or the counts read with the key. */
const PRE_READ = 'queueRoom';
type PreRead = { reserved: true } | { reserved: false; room: QueueRoom };
// POST /api/v1/generations as the /api authentication middleware sees it (Express routes ignore case and a trailing slash).
const NEW_GENERATION = /^\/v1\/generations\/?$/i;

/**
 * For the /api authentication middleware: a new generation's key is read alone when the process's
 * bounds still vouch for a place in the queue (taking it), else with the queue's counts in one
 * statement (kept on the response for requireQueueRoom); any other request reads its key alone.
 * The key itself is read on every request either way, so revocation stays immediate.
 */
export function keyFinderWithQueueRoom(db: Db, bounds: QueueRoomBounds): (req: Request, res: Response) => KeyRowFinder | undefined {
  const keyAlone = keyRowFinder(db);
  return (req, res) => {
    if (req.method !== 'POST' || !NEW_GENERATION.test(req.path)) return undefined;
    return (keyHash) => {
      const keyId = bounds.keyOf(keyHash);
      if (keyId !== undefined && bounds.reserve(keyId)) {
        res.locals[PRE_READ] = { reserved: true } satisfies PreRead;
        return keyAlone(keyHash);
      }
      return keyAndQueueRoomFinder(db, bounds.caps, (room, readId) => {
        bounds.record(readId, room, keyHash);
        res.locals[PRE_READ] = { reserved: false, room } satisfies PreRead;
      })(keyHash);
    };
  };
}

/**
 * 429 `queue_full` with `Retry-After` when the queue, or the caller's share of it, is full: a place
 * the bounds vouched for passes; else the counts this request read with its key
 * (keyFinderWithQueueRoom), or read now, decide, and an admission counts on the bounds.
 * `share`: the key whose share the generation counts in when that is not the caller's (a retry
 * counts in its owner's: a key at its cap may still retry another key's generation, and a key with
 * room may not add to a full key's share).
 */
export async function requireQueueRoom(res: Response, db: Db, bounds: QueueRoomBounds, share?: { keyId: string | null }): Promise<void> {
  const keyId = share ? share.keyId : callerOf(res).keyId;
  try {
    await takeQueueRoom(res, db, bounds, keyId);
  } catch (error) {
    // The share counted is the one found full: the owner's for a retry, not the caller's.
    throw answerQueueFull(res, bounds, error, { keyId });
  }
}

/** requireQueueRoom's check in `keyId`'s share, its refusal (QueueFullError) not yet answered. */
async function takeQueueRoom(res: Response, db: Db, bounds: QueueRoomBounds, keyId: string | null): Promise<void> {
  const key = keyId ?? '';
  const preRead = res.locals[PRE_READ] as PreRead | undefined;
  if (preRead?.reserved) return;
  if (!preRead && bounds.reserve(key)) return;
  let room = preRead?.room;
  if (!room) {
    room = await readQueueRoom(db, bounds.caps, keyId);
    bounds.record(key, room);
  }
  assertQueueRoom(bounds.caps, room);
  bounds.admitted(key);
}

/**
 * The early check of a retry that counts in no key's share (a queue producer's generation), which
 * MAX_QUEUED_PER_KEY does not bound, whoever asks for it: a QueueFullError (scope `global`) when
 * MAX_QUEUE_DEPTH generations wait.
 */
async function takeDepthRoom(db: Db, bounds: QueueRoomBounds): Promise<void> {
  const depth = await queueDepth(db, bounds.caps.maxQueueDepth);
  assertQueueRoom(bounds.caps, { depth, ofKey: 0 });
  // Its place counts on the bounds, as any admission's: the next one they vouch for sees it.
  bounds.admittedOnDepth(depth);
}

/**
 * The early room check of a retry, in the share its generation counts in as the locked retry
 * (JobLifecycle.retryWithinCap) counts it: its owner's key's; with none, the API's keyless share
 * (`source` 'api'); a queue producer's generation (no key, another source) in no share, so only
 * MAX_QUEUE_DEPTH applies. A full count is a refusal only while the generation is still failed or
 * canceled: a racing retry that re-opened it meanwhile (its place is what filled the share) leaves
 * nothing to queue, and this one passes to the locked retry, which answers it as a retry of an
 * active generation (409 not_retryable), never 429.
 */
export async function requireRetryRoom(res: Response, db: Db, bounds: QueueRoomBounds, generation: { id: string; apiKeyId: string | null; source: string }): Promise<void> {
  const share = generation.apiKeyId === null && generation.source !== 'api' ? undefined : { keyId: generation.apiKeyId };
  try {
    await (share ? takeQueueRoom(res, db, bounds, share.keyId) : takeDepthRoom(db, bounds));
  } catch (error) {
    if (error instanceof QueueFullError && !(await stillReopenable(db, generation.id))) return;
    throw answerQueueFull(res, bounds, error, share);
  }
}

/** Whether the generation is (still) failed or canceled, what a retry re-opens. */
async function stillReopenable(db: Db, id: string): Promise<boolean> {
  const now = await db.generationJob.findUnique({ where: { id }, select: { status: true } });
  return now?.status === 'failed' || now?.status === 'canceled';
}

/**
 * What a queue_full refusal adds to its answer, wherever it was decided (the early check, or the
 * write that counted under the key's lock): `Retry-After`, the refusal counted, and a full key's
 * bounds marked full (its next admission counts again). Any other error passes unchanged.
 */
export function answerQueueFull(res: Response, bounds: QueueRoomBounds, error: unknown, share?: { keyId: string | null }): unknown {
  if (!(error instanceof QueueFullError)) return error;
  res.setHeader('Retry-After', String(QUEUE_FULL_RETRY_AFTER_S));
  const scope = (error.details as { scope?: string } | undefined)?.scope;
  countRateLimitRefusal(scope === 'global' ? 'queue_depth' : 'queued_per_key');
  if (scope === 'key') bounds.full((share ? share.keyId : callerOf(res).keyId) ?? '');
  return error;
}
