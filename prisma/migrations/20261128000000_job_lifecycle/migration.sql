-- A job's stage is explicit instead of inferred from nullable columns (resolvedAt, outputs).
CREATE TYPE "JobStage" AS ENUM ('requested', 'resolved', 'submitted', 'rendered', 'filed');

ALTER TABLE "generation_jobs" ADD COLUMN "stage" "JobStage" NOT NULL DEFAULT 'requested';
UPDATE "generation_jobs" SET "stage" = CASE
    WHEN "status" = 'completed' THEN 'filed'::"JobStage"
    WHEN "outputs" IS NOT NULL THEN 'rendered'::"JobStage"
    WHEN "promptId" IS NOT NULL THEN 'submitted'::"JobStage"
    WHEN "resolvedAt" IS NOT NULL THEN 'resolved'::"JobStage"
    ELSE 'requested'::"JobStage"
END;

-- requestId is an idempotency key within one producer, not across all of them.
ALTER TABLE "generation_jobs" ADD COLUMN "source" TEXT NOT NULL DEFAULT 'api';
UPDATE "generation_jobs" SET "source" = 'queue' WHERE "requestId" IS NOT NULL;
DROP INDEX "generation_jobs_requestId_key";
CREATE UNIQUE INDEX "generation_jobs_source_requestId_key" ON "generation_jobs"("source", "requestId");

-- Recovery sweeps select unfinished work by stage.
CREATE INDEX "generation_jobs_stage_updatedAt_idx" ON "generation_jobs"("stage", "updatedAt");
