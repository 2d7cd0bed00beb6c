import type { Db } from '@anime/db';
import type { WebhookEventType } from '@anime/contracts';

/**
 * The endpoints an event of a generation goes to, read with the generation in one statement: live
 * endpoints (not deleted, their key neither revoked nor expired) reaching the generation's project,
 * that subscribed to the event type, plus the endpoint a request's own `webhook.url` names (see
 * requestWebhookEndpoint), whatever it subscribed to. Null when the generation does not exist.
 */
export async function endpointsForEvent(db: Db, generationId: string, type: WebhookEventType): Promise<string[] | null> {
  const [generation] = await db.$queryRaw<{ project: string; apiKeyId: string | null; requestUrl: string | null; endpoints: string[] }[]>`
    SELECT j.project, j."apiKeyId"::text AS "apiKeyId", j.request #>> '{webhook,url}' AS "requestUrl",
      ARRAY(SELECT e.id::text FROM webhook_endpoints e LEFT JOIN api_keys k ON k.id = e."apiKeyId"
        WHERE e."deletedAt" IS NULL
          AND (e."apiKeyId" IS NULL OR (k."revokedAt" IS NULL AND (k."expiresAt" IS NULL OR k."expiresAt" > now())))
          AND (e.projects IS NULL OR j.project = ANY(e.projects))
          AND ${type} = ANY(e.events)
        ORDER BY e."createdAt") AS endpoints
    FROM generation_jobs j WHERE j.id = ${generationId}::uuid`;
  if (!generation) return null;
  const ids = [...generation.endpoints];
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
