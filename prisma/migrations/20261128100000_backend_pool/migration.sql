-- The ComfyUI backends as the orchestrator sees them (health, capabilities, counters). The gateway
-- reads this table and writes only the drain flag: it never talks to the orchestrator directly.
CREATE TABLE "backends" (
    "id" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'down',
    "draining" BOOLEAN NOT NULL DEFAULT false,
    "drainedAt" TIMESTAMP(3),
    "checkpoints" JSONB NOT NULL DEFAULT '[]',
    "loras" JSONB NOT NULL DEFAULT '[]',
    "nodeClasses" JSONB NOT NULL DEFAULT '[]',
    "ipAdapter" BOOLEAN NOT NULL DEFAULT false,
    "capabilitiesAt" TIMESTAMP(3),
    "busy" BOOLEAN NOT NULL DEFAULT false,
    "inFlight" INTEGER NOT NULL DEFAULT 0,
    "queueDepth" INTEGER NOT NULL DEFAULT 0,
    "jobsDone" INTEGER NOT NULL DEFAULT 0,
    "lastCheckpoint" TEXT,
    "lastError" TEXT,
    "lastSeenAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "backends_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "backends_url_key" ON "backends"("url");

-- An attempt is submitted (enters the backend's queue) before it starts executing; startedAt
-- now means the latter and stays empty until ComfyUI says so.
ALTER TABLE "job_attempts" ADD COLUMN "submittedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
UPDATE "job_attempts" SET "submittedAt" = "startedAt";
ALTER TABLE "job_attempts" ALTER COLUMN "startedAt" DROP NOT NULL;
ALTER TABLE "job_attempts" ALTER COLUMN "startedAt" DROP DEFAULT;
