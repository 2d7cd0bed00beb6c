import type { Db } from '@anime/db';
import type { WebhookEventType } from '@anime/contracts';

interface GenerationFacts {
  project: string;
  apiKeyId: string | null;
  /** The request's own `webhook.url`, if it named one. */
  requestUrl: string | null;
}

/**
 * The endpoints an event of a generation goes to: live endpoints (not deleted, their key neither
 * revoked nor expired) reaching the generation's project, that subscribed to the event type, plus the
 * endpoint a request's own `webhook.url` names (see requestWebhookEndpoint), whatever it subscribed to.
 */
export async function endpointsForEvent(db: Db, generation: GenerationFacts, type: WebhookEventType): Promise<string[]> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT e.id FROM webhook_endpoints e LEFT JOIN api_keys k ON k.id = e."apiKeyId"
    WHERE e."deletedAt" IS NULL
      AND (e."apiKeyId" IS NULL OR (k."revokedAt" IS NULL AND (k."expiresAt" IS NULL OR k."expiresAt" > now())))
      AND (e.projects IS NULL OR ${generation.project} = ANY(e.projects))
      AND ${type} = ANY(e.events)
    ORDER BY e."createdAt"`;
  const ids = rows.map((r) => r.id);
  if (generation.requestUrl) {
    const own = await requestWebhookEndpoint(db, generation.requestUrl, generation.project, generation.apiKeyId);
    if (own && !ids.includes(own)) ids.push(own);
  }
  return ids;
}

/**
 * The endpoint a per-request `webhook: { url }` is delivered through (its secret signs, its log records):
 * the oldest live endpoint registered at exactly that URL reaching the project, registered by the same
 * key when the generation has one (REST); any such endpoint for a queue producer's generation.
 */
export async function requestWebhookEndpoint(db: Db, url: string, project: string, apiKeyId: string | null): Promise<string | null> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT e.id FROM webhook_endpoints e LEFT JOIN api_keys k ON k.id = e."apiKeyId"
    WHERE e."deletedAt" IS NULL AND e.url = ${url}
      AND (e."apiKeyId" IS NULL OR (k."revokedAt" IS NULL AND (k."expiresAt" IS NULL OR k."expiresAt" > now())))
      AND (e.projects IS NULL OR ${project} = ANY(e.projects))
      AND (${apiKeyId}::uuid IS NULL OR e."apiKeyId" = ${apiKeyId}::uuid)
    ORDER BY e."createdAt" LIMIT 1`;
  return rows[0]?.id ?? null;
}
