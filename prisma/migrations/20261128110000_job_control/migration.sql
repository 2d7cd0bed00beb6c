-- A cancel asked for while the prompt is in a backend: the orchestrator driving it takes it off the
-- backend and applies the cancel once ComfyUI confirms. Kept in the row, not only in a Redis
-- message, so a lost message (or an orchestrator restart) still cancels.
ALTER TABLE "generation_jobs" ADD COLUMN "cancelRequestedAt" TIMESTAMP(3);
