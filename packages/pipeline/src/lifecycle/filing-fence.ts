/**
 * A generation's filing fence: the advisory lock that a removal of the generation's library files
 * holds while it removes them, without holding the generation's row (on a hung mount each removal
 * waits out its bound, 30 s, and a retry or a cancel of the generation must not wait on the row
 * meanwhile). Every claim of the filing (CLAIM_FILING, CLAIM_FILING_AND_LOAD) tries it, shared, in
 * its own statement, and is refused while a removal holds it: no try writes an output path that
 * the removal may still delete (the paths are a function of the job). PostgreSQL lets the lock go
 * with the removal's session, so a removal that dies fences nothing.
 *
 * Two-int keys: a key space no other advisory lock of the project uses (the queue locks and the
 * migrator take one-bigint keys). Generations whose ids hash alike share a fence: one waits a little.
 */
const FILING_FENCE_CLASS = 0x66696c65;

/** SQL: the advisory lock key (two int4) of the filing fence of generation `id` (a uuid parameter). */
export const filingFenceKey = (id: string) => `${FILING_FENCE_CLASS}, hashtext(${id}::uuid::text)`;

/** A claim of a generation's filing refused because a removal of its files holds the filing fenced: the try waits for it. */
export class FilingFencedError extends Error {
  readonly name = 'FilingFencedError';
  constructor(readonly generationId: string) {
    super(`the library files of an earlier filing of generation ${generationId} are being removed`);
  }
}
