-- Webhooks kept in PostgreSQL, as generations are: Redis keeps nothing on disk, and a restart that
-- took the generation-events entry of a terminal event, or a delivery job waiting for its retry,
-- must not take the message with it. The gateway's sweep re-enqueues from here what Redis lost.

-- A terminal event (job:completed, job:failed, job:canceled) whose webhook messages are not yet
-- recorded in webhook_messages. Events written before this migration count as dispatched (the
-- column is added with the default true, then its default becomes false: no row is rewritten).
ALTER TABLE "job_events" ADD COLUMN "webhooksDispatched" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "job_events" ALTER COLUMN "webhooksDispatched" SET DEFAULT false;
CREATE INDEX "job_events_webhooks_undispatched_idx" ON "job_events"("createdAt")
  WHERE NOT "webhooksDispatched" AND type IN ('job:completed', 'job:failed', 'job:canceled');

-- One message owed: one terminal event (generation, seq) to one endpoint, until it is delivered or
-- given up (finishedAt). `attempts` counts the tries made, `nextAttemptAt` is when the next is due.
CREATE TABLE "webhook_messages" (
  "endpointId"    UUID NOT NULL REFERENCES "webhook_endpoints"("id"),
  "generationId"  UUID NOT NULL,
  "seq"           INTEGER NOT NULL,
  "eventType"     TEXT NOT NULL,
  "attempts"      INTEGER NOT NULL DEFAULT 0,
  "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "finishedAt"    TIMESTAMP(3),
  "outcome"       TEXT,
  "createdAt"     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt"     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "webhook_messages_pkey" PRIMARY KEY ("endpointId", "generationId", "seq")
);
CREATE INDEX "webhook_messages_unfinished_idx" ON "webhook_messages"("updatedAt") WHERE "finishedAt" IS NULL;
