-- An orchestrator that starts again remembers the prompts earlier processes may have left on
-- backends taken for down: those of the attempts that ended with an error within the last hour,
-- newest first (backend_lost: the job went on elsewhere; or the job's own error, e.g. a timeout or a
-- cancel while it waited for a backend). Attempts that ended well are not in the index; the query's
-- WHERE repeats this predicate exactly (services/orchestrator/src/domain/backends/lost-prompts.ts).
CREATE INDEX "job_attempts_ended_with_error_idx" ON "job_attempts"("finishedAt") WHERE error IS NOT NULL;
