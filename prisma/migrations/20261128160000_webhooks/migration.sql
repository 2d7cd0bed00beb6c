-- Signed webhooks. An endpoint belongs to the key that registered it and reaches that key's projects
-- (copied at registration; null: every project). Its secret is stored as is: the dispatcher must sign
-- with it (HMAC is symmetric, a hash would not do), and an encryption key kept in the same
-- environment as the database would protect nothing a database reader does not already reach.
CREATE TABLE "webhook_endpoints" (
  "id"        UUID NOT NULL,
  "url"       TEXT NOT NULL,
  "events"    TEXT[] NOT NULL,
  "secret"    TEXT NOT NULL,
  "projects"  TEXT[],
  "apiKeyId"  UUID REFERENCES "api_keys"("id"),
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "deletedAt" TIMESTAMP(3),
  CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "webhook_endpoints_url_idx" ON "webhook_endpoints"("url");

-- Every delivery attempt, kept for GET /api/v1/webhooks/:id/deliveries.
CREATE TABLE "webhook_deliveries" (
  "id"           UUID NOT NULL,
  "endpointId"   UUID NOT NULL REFERENCES "webhook_endpoints"("id"),
  "messageId"    TEXT NOT NULL,
  "eventType"    TEXT NOT NULL,
  "generationId" UUID NOT NULL,
  "attempt"      INTEGER NOT NULL,
  "statusCode"   INTEGER,
  "error"        TEXT,
  "succeeded"    BOOLEAN NOT NULL,
  "durationMs"   INTEGER NOT NULL,
  "responseExcerpt" TEXT,
  "createdAt"    TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "webhook_deliveries_endpointId_createdAt_idx" ON "webhook_deliveries"("endpointId", "createdAt");
