-- API keys: only a hash of each key is stored. A name belongs to one live key at a time; a revoked
-- key keeps its row (who did what stays answerable) and frees its name.
CREATE TABLE "api_keys" (
  "id"         UUID NOT NULL,
  "name"       TEXT NOT NULL,
  "keyHash"    TEXT NOT NULL,
  "prefix"     TEXT NOT NULL,
  "scopes"     TEXT[] NOT NULL,
  "projects"   TEXT[],
  "expiresAt"  TIMESTAMP(3),
  "revokedAt"  TIMESTAMP(3),
  "lastUsedAt" TIMESTAMP(3),
  "createdAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_keys_keyHash_key" ON "api_keys"("keyHash");
CREATE UNIQUE INDEX "api_keys_live_name_key" ON "api_keys"("name") WHERE "revokedAt" IS NULL;

-- Which key created a generation: the per-key queue cap counts by it, and it is provenance.
ALTER TABLE "generation_jobs" ADD COLUMN "apiKeyId" UUID REFERENCES "api_keys"("id");
CREATE INDEX "generation_jobs_apiKeyId_status_idx" ON "generation_jobs"("apiKeyId", "status");
