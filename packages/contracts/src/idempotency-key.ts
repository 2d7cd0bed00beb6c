import { z } from 'zod';
import { storableText } from './safe-text';

/**
 * The request header that makes `POST /api/v1/generations` safe to repeat (as Stripe's and the IETF
 * httpapi idempotency-key draft's): a client whose answer was lost sends the same key again and
 * gets the same generation back, not a second one.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Sent, as `true`, on an answer that gives back the generation an earlier request with the key made. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** The key was used for another request: by another API key, or with a different body. */
export const IDEMPOTENCY_KEY_REUSED = 'idempotency_key_reused';

/**
 * The key, stored as the generation's `requestId` (source `api`): the bounds of a queue producer's
 * requestId, so `?requestId=<key>` finds it.
 */
export const idempotencyKeySchema = storableText()
  .min(1)
  .max(200)
  .describe(
    'Makes the request safe to repeat: 1 to 200 characters (UTF-8), stored as the generation\'s `requestId` (source `api`). ' +
      'The same key again from the same API key with the same body gives back the same generation (202, the same `id` and `Location`, `status` its current one) with `Idempotent-Replayed: true`, writing and queueing nothing. ' +
      'The same key from another API key, or with a different body (any field sent differently, the defaults applied; `seed` compared only when sent), is 422 `idempotency_key_reused`.',
  );

/** The headers `POST /api/v1/generations` reads besides Authorization. */
export const generationRequestHeadersSchema = z.object({ [IDEMPOTENCY_KEY_HEADER]: idempotencyKeySchema.optional() });
