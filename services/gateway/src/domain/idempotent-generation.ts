import { isDeepStrictEqual } from 'node:util';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_REUSED, type GenerationRequestBody, type JobStatus } from '@anime/contracts';
import { readRows, type Db, type Statement } from '@anime/db';
import { ApiError } from '../http/api-error';

/** What a repeat of an Idempotency-Key is checked against: the generation the key made, and who asked for it with what. */
export interface KeyedGeneration {
  id: string;
  status: JobStatus;
  apiKeyId: string | null;
  /** The request as stored: the body with its defaults applied and the seed chosen (JobLifecycle.insertValues). */
  request: Record<string, unknown>;
}

/** The key is the generation's requestId under source `api`: the (source, requestId) unique index finds it. */
const BY_IDEMPOTENCY_KEY: Statement = {
  name: 'gateway-generation-by-idempotency-key',
  text: `SELECT id, status, "apiKeyId", request FROM generation_jobs WHERE source = 'api' AND "requestId" = $1::text`,
};

/** The generation an earlier POST with this Idempotency-Key made, or null. */
export async function findKeyedGeneration(db: Db, key: string): Promise<KeyedGeneration | null> {
  const [row] = await readRows<KeyedGeneration>(db, BY_IDEMPOTENCY_KEY, [key]);
  return row ?? null;
}

/**
 * The answer to a repeat of the key: the earlier generation's id and current status when the same
 * caller sent the same request; else 422 idempotency_key_reused. A key used by another API key is
 * refused without a word about that generation (neither its id nor its request).
 */
export function replayOf(earlier: KeyedGeneration, apiKeyId: string | null, body: GenerationRequestBody): { id: string; status: JobStatus } {
  if (earlier.apiKeyId !== apiKeyId) {
    throw new ApiError(422, IDEMPOTENCY_KEY_REUSED, `this ${IDEMPOTENCY_KEY_HEADER} was already used by another caller; send a new key`);
  }
  if (!sameRequest(earlier.request, body)) {
    throw new ApiError(422, IDEMPOTENCY_KEY_REUSED, `this ${IDEMPOTENCY_KEY_HEADER} was used for a different request (generation ${earlier.id}); send a new key for a new request`, { id: earlier.id });
  }
  return { id: earlier.id, status: earlier.status };
}

/**
 * Whether `body` is the request stored: every field as parsed (the defaults applied, so `count: 1`
 * and no count are the same request), compared exactly; `seed` only when the repeat sends one (the
 * first, without one, had a random seed chosen and stored). Strings are not normalised: `kai` and
 * `Kai Nakamura` name the same character but are different requests.
 */
export function sameRequest(stored: Record<string, unknown>, body: GenerationRequestBody): boolean {
  const { seed: storedSeed, ...storedFields } = stored;
  const { seed, ...fields } = body;
  if (seed !== undefined && seed !== storedSeed) return false;
  // Through JSON as the stored one was: absent and undefined fields alike, and jsonb's key order does not matter to the comparison.
  return isDeepStrictEqual(storedFields, JSON.parse(JSON.stringify(fields)));
}
