-- Whether each reference conditioned the image on the backend of the current attempt.
ALTER TABLE "generation_jobs" ADD COLUMN "referenceUse" JSONB;
