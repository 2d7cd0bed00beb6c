import { readRows, type Db, type Statement } from '@anime/db';
import type { WebhookEventType } from '@anime/contracts';

/**
 * A live endpoint `e` (joined to its key `k` by LEFT JOIN) reaching the project `project`: neither
 * deleted nor disabled (its receiver answered 410 Gone), its key (if any) neither revoked nor
 * expired, its projects (if listed) holding it.
 */
const liveEndpointReaching = (project: string) => `e."deletedAt" IS NULL AND e."disabledAt" IS NULL
        AND (e."apiKeyId" IS NULL OR (k."revokedAt" IS NULL AND (k."expiresAt" IS NULL OR k."expiresAt" > now())))
        AND (e.projects IS NULL OR ${project} = ANY(e.projects))`;

/**
 * SQL: the endpoint a request's own webhook `url` is delivered through (requestWebhookEndpoint), for
 * its `project` and `apiKeyId` (SQL expressions): the oldest live one registered at that URL reaching
 * the project, by that key when there is one. The one definition the gateway's check of a request
 * and the dispatch of its events read.
 */
const requestEndpointSql = (url: string, project: string, apiKeyId: string) => `SELECT e.id FROM webhook_endpoints e LEFT JOIN api_keys k ON k.id = e."apiKeyId"
      WHERE e.url = ${url} AND ${liveEndpointReaching(project)}
        AND (${apiKeyId} IS NULL OR e."apiKeyId" = ${apiKeyId})
      ORDER BY e."createdAt" LIMIT 1`;

/** SQL: the request's own endpoint of the generation row `j`, as a subquery (null when its request names no webhook url, or none is registered there). */
const requestEndpointOf = (j: string) => `(${requestEndpointSql(`${j}.request #>> '{webhook,url}'`, `${j}.project`, `${j}."apiKeyId"`)})`;

/**
 * SQL: the endpoints (a uuid[]) an event of webhook type `type` goes to for the generation row `j`:
 * the live endpoints that subscribed to the type reaching the generation's project, oldest first,
 * then the request's own endpoint when it is not among them. The gateway's dispatch reads it and
 * records the messages in the same statement.
 */
export const eventEndpointsSql = (j: string, type: string) => `(SELECT CASE WHEN own.id IS NULL OR own.id = ANY(s.ids) THEN s.ids ELSE s.ids || own.id END
  FROM (SELECT ARRAY(SELECT e.id FROM webhook_endpoints e LEFT JOIN api_keys k ON k.id = e."apiKeyId"
      WHERE ${liveEndpointReaching(`${j}.project`)} AND ${type} = ANY(e.events)
      ORDER BY e."createdAt") AS ids) s
  LEFT JOIN LATERAL ${requestEndpointOf(j)} own(id) ON true)`;

// The endpoint of a request's own webhook url ($1) for its project ($2) and key ($3, null for a queue producer).
const REQUEST_ENDPOINT: Statement = {
  name: 'webhook-endpoint-of-request',
  text: requestEndpointSql('$1', '$2::text', '$3::uuid'),
};

/** An event a webhook type follows: which generation, which type. */
export interface WebhookEvent {
  generationId: string;
  type: WebhookEventType;
}

/**
 * The endpoint a per-request `webhook: { url }` is delivered through (its secret signs, its log records):
 * the oldest live endpoint registered at exactly that URL reaching the project, registered by the same
 * key when the generation has one (REST); any such endpoint for a queue producer's generation.
 */
export async function requestWebhookEndpoint(db: Db, url: string, project: string, apiKeyId: string | null): Promise<string | null> {
  const rows = await readRows<{ id: string }>(db, REQUEST_ENDPOINT, [url, project, apiKeyId]);
  return rows[0]?.id ?? null;
}
