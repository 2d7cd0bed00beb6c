-- An orchestrator that starts again remembers the prompts earlier processes left on backends taken
-- for down: the attempts ended as backend_lost (their jobs went on elsewhere) within the last hour,
-- newest first. Few attempts end so, so the index holds only those, by when they ended; the query's
-- WHERE repeats this predicate exactly (services/orchestrator/src/domain/backends/lost-prompts.ts).
CREATE INDEX "job_attempts_backend_lost_idx" ON "job_attempts"("finishedAt") WHERE (error->>'code') = 'backend_lost';
