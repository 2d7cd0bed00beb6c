-- The exact graph each attempt sent, kept per attempt: a failover or a retry may send another one.
ALTER TABLE "job_attempts" ADD COLUMN "workflow" JSONB;
