-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('queued', 'running', 'completed', 'failed', 'canceled');

-- CreateEnum
CREATE TYPE "ReferenceKind" AS ENUM ('face', 'body', 'outfit', 'style', 'other');

-- CreateTable
CREATE TABLE "characters" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "archivedAt" TIMESTAMP(3),
    "currentVersion" INTEGER NOT NULL DEFAULT 0,
    "legacyId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "characters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "character_versions" (
    "id" UUID NOT NULL,
    "characterId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "definition" JSONB NOT NULL,
    "note" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "character_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "character_attributes" (
    "id" UUID NOT NULL,
    "versionId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    CONSTRAINT "character_attributes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "character_references" (
    "id" UUID NOT NULL,
    "characterId" UUID NOT NULL,
    "label" TEXT NOT NULL,
    "kind" "ReferenceKind" NOT NULL DEFAULT 'other',
    "path" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "width" INTEGER,
    "height" INTEGER,
    "mime" TEXT NOT NULL,
    "missing" BOOLEAN NOT NULL DEFAULT false,
    "detachedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "character_references_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "version_references" (
    "versionId" UUID NOT NULL,
    "referenceId" UUID NOT NULL,
    CONSTRAINT "version_references_pkey" PRIMARY KEY ("versionId","referenceId")
);

-- CreateTable
CREATE TABLE "generation_jobs" (
    "id" UUID NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'queued',
    "priority" TEXT NOT NULL DEFAULT 'normal',
    "requestId" TEXT,
    "correlationId" TEXT,
    "request" JSONB NOT NULL,
    "characterId" UUID,
    "characterVersionId" UUID,
    "outfit" TEXT,
    "conditioning" JSONB,
    "workflow" JSONB,
    "seed" BIGINT,
    "backend" TEXT,
    "promptId" TEXT,
    "outputs" JSONB,
    "progressValue" INTEGER,
    "progressMax" INTEGER,
    "progressNode" TEXT,
    "progressSeq" INTEGER,
    "eventSeq" INTEGER NOT NULL DEFAULT 0,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "errorDetails" JSONB,
    "project" TEXT NOT NULL,
    "episode" TEXT NOT NULL,
    "scene" TEXT NOT NULL,
    "shot" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "generation_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_attempts" (
    "id" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "backend" TEXT NOT NULL,
    "promptId" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "error" JSONB,
    CONSTRAINT "job_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_events" (
    "id" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "job_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "assets" (
    "id" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "characterVersionId" UUID NOT NULL,
    "sourceKey" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "mime" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "project" TEXT NOT NULL,
    "episode" TEXT NOT NULL,
    "scene" TEXT NOT NULL,
    "shot" TEXT,
    "metadata" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "assets_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "characters_slug_key" ON "characters"("slug");
CREATE UNIQUE INDEX "characters_legacyId_key" ON "characters"("legacyId");
CREATE UNIQUE INDEX "character_versions_characterId_number_key" ON "character_versions"("characterId", "number");
CREATE UNIQUE INDEX "character_attributes_versionId_key_key" ON "character_attributes"("versionId", "key");
CREATE UNIQUE INDEX "character_references_characterId_sha256_key" ON "character_references"("characterId", "sha256");
CREATE UNIQUE INDEX "generation_jobs_requestId_key" ON "generation_jobs"("requestId");
CREATE INDEX "generation_jobs_status_createdAt_idx" ON "generation_jobs"("status", "createdAt");
CREATE UNIQUE INDEX "job_attempts_jobId_number_key" ON "job_attempts"("jobId", "number");
CREATE UNIQUE INDEX "job_events_jobId_seq_key" ON "job_events"("jobId", "seq");
CREATE UNIQUE INDEX "assets_path_key" ON "assets"("path");
CREATE INDEX "assets_sha256_idx" ON "assets"("sha256");
CREATE UNIQUE INDEX "assets_jobId_sourceKey_key" ON "assets"("jobId", "sourceKey");

-- AddForeignKey
ALTER TABLE "character_versions" ADD CONSTRAINT "character_versions_characterId_fkey" FOREIGN KEY ("characterId") REFERENCES "characters"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "character_attributes" ADD CONSTRAINT "character_attributes_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "character_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "character_references" ADD CONSTRAINT "character_references_characterId_fkey" FOREIGN KEY ("characterId") REFERENCES "characters"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "version_references" ADD CONSTRAINT "version_references_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "character_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "version_references" ADD CONSTRAINT "version_references_referenceId_fkey" FOREIGN KEY ("referenceId") REFERENCES "character_references"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "generation_jobs" ADD CONSTRAINT "generation_jobs_characterId_fkey" FOREIGN KEY ("characterId") REFERENCES "characters"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "generation_jobs" ADD CONSTRAINT "generation_jobs_characterVersionId_fkey" FOREIGN KEY ("characterVersionId") REFERENCES "character_versions"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "job_attempts" ADD CONSTRAINT "job_attempts_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "generation_jobs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "job_events" ADD CONSTRAINT "job_events_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "generation_jobs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "assets" ADD CONSTRAINT "assets_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "generation_jobs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "assets" ADD CONSTRAINT "assets_characterVersionId_fkey" FOREIGN KEY ("characterVersionId") REFERENCES "character_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Versions are immutable: what a pinned generation used must reproduce exactly, so the database
-- itself refuses to change or remove a version, its attributes or its reference links.
CREATE FUNCTION "refuse_version_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'character versions are immutable (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'P0001';
END;
$$;
CREATE TRIGGER "character_versions_immutable" BEFORE UPDATE OR DELETE ON "character_versions"
  FOR EACH ROW EXECUTE FUNCTION "refuse_version_change"();
CREATE TRIGGER "character_attributes_immutable" BEFORE UPDATE OR DELETE ON "character_attributes"
  FOR EACH ROW EXECUTE FUNCTION "refuse_version_change"();
CREATE TRIGGER "version_references_immutable" BEFORE UPDATE OR DELETE ON "version_references"
  FOR EACH ROW EXECUTE FUNCTION "refuse_version_change"();
