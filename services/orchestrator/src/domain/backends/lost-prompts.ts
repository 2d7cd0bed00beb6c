import { readRows, SQL_NOW, type Db, type Statement } from '@anime/db';

/**
 * A prompt an attempt may have left on a backend taken for down: the attempt ended with an error
 * (backend_lost, its job going on elsewhere; or the job's own, e.g. a timeout or a cancel while the
 * job waited for a backend). Most such prompts are gone from their backend; a sweep forgets those
 * after one look at its queue.
 */
export interface LostPrompt {
  backend: string;
  jobId: string;
  promptId: string;
  /** How long ago the attempt ended (by the database's clock, so no clock skew between hosts counts). */
  endedMsAgo: number;
}

/**
 * $1 the backends' urls, $2 how far back (ms), $3 at most this many, newest first. The attempt's
 * `error IS NOT NULL` is the predicate of the partial index job_attempts_ended_with_error_idx, word
 * for word, so the planner reads that index backwards by finishedAt and stops at the limit.
 */
const ENDED_WITH_ERROR: Statement = {
  name: 'job-attempts.ended-with-error',
  text: `SELECT backend, "jobId", "promptId", (extract(epoch FROM ${SQL_NOW} - "finishedAt") * 1000)::float8 AS "endedMsAgo"
FROM job_attempts
WHERE error IS NOT NULL AND "finishedAt" > ${SQL_NOW} - make_interval(secs => $2::float8 / 1000) AND backend = ANY($1::text[])
ORDER BY "finishedAt" DESC
LIMIT $3::int`,
};

/** The prompts of attempts ended with an error on one of `backends` within `withinMs`, newest first, at most `limit`. */
export function findLostPrompts(db: Db, backends: string[], options: { withinMs: number; limit: number }): Promise<LostPrompt[]> {
  return readRows<LostPrompt>(db, ENDED_WITH_ERROR, [backends, options.withinMs, options.limit]);
}
