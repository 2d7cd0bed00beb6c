import { readRows, SQL_NOW, type Db, type Statement } from '@anime/db';

/** A prompt an attempt left on a backend taken for down: the attempt ended as backend_lost, its job went on. */
export interface LostPrompt {
  backend: string;
  jobId: string;
  promptId: string;
  /** How long ago the attempt ended (by the database's clock, so no clock skew between hosts counts). */
  endedMsAgo: number;
}

/**
 * $1 the backends' urls, $2 how far back (ms), $3 at most this many, newest first. The attempt's
 * `error` is the jsonb object RESUBMIT writes ({ code, message }); `(error->>'code') = 'backend_lost'`
 * is the predicate of the partial index job_attempts_backend_lost_idx, word for word, so the planner
 * reads that index backwards by finishedAt and stops at the limit.
 */
const BACKEND_LOST: Statement = {
  name: 'job-attempts.backend-lost',
  text: `SELECT backend, "jobId", "promptId", (extract(epoch FROM ${SQL_NOW} - "finishedAt") * 1000)::float8 AS "endedMsAgo"
FROM job_attempts
WHERE (error->>'code') = 'backend_lost' AND "finishedAt" > ${SQL_NOW} - make_interval(secs => $2::float8 / 1000) AND backend = ANY($1::text[])
ORDER BY "finishedAt" DESC
LIMIT $3::int`,
};

/** The prompts of attempts ended as backend_lost on one of `backends` within `withinMs`, newest first, at most `limit`. */
export function findLostPrompts(db: Db, backends: string[], options: { withinMs: number; limit: number }): Promise<LostPrompt[]> {
  return readRows<LostPrompt>(db, BACKEND_LOST, [backends, options.withinMs, options.limit]);
}
