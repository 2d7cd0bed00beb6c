import { createHash } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import type { WebhookAllowList } from '@anime/config';
import { webhookDeliveryMessageSchema, type WebhookMessage } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { countWebhookDelivery, loadGenerationResource } from '@anime/pipeline';
import type { Resolve } from './pinned-lookup';
import { sendWebhook } from './send-webhook';
import { signWebhook } from './sign-webhook';

export interface DeliveryDeps {
  db: Db;
  allow: WebhookAllowList;
  log: Logger;
  timeoutMs?: number;
  resolve?: Resolve;
}

/** The `webhook-id`: one per event and endpoint, the same on every retry, so a receiver de-duplicates. */
export const webhookMessageId = (endpointId: string, generationId: string, seq: number) =>
  `msg_${createHash('sha256').update(`${endpointId}:${generationId}:${seq}`).digest('hex').slice(0, 32)}`;

/**
 * One delivery attempt of one event to one endpoint, recorded whatever happens. A failure throws so
 * BullMQ retries with backoff; a target the policy refuses is not retried (UnrecoverableError).
 */
export function deliveryProcessor(deps: DeliveryDeps) {
  return async (job: Job): Promise<{ outcome: string }> => {
    const parsed = webhookDeliveryMessageSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid webhook-deliveries payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const message = parsed.data;
    const endpoint = await deps.db.webhookEndpoint.findUnique({ where: { id: message.endpointId }, include: { apiKey: { select: { revokedAt: true, expiresAt: true } } } });
    if (!endpoint || endpoint.deletedAt) return { outcome: 'endpoint deleted' };
    // A key revoked (or expired) since the event was queued: its endpoints hear nothing more.
    const key = endpoint.apiKey;
    if (key && (key.revokedAt || (key.expiresAt && key.expiresAt <= new Date()))) return { outcome: 'endpoint key no longer valid' };
    const generation = await loadGenerationResource(deps.db, message.generationId);
    if (!generation) throw new UnrecoverableError(`generation ${message.generationId} does not exist`);

    const messageId = webhookMessageId(endpoint.id, message.generationId, message.seq);
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: message.eventType, timestamp: new Date(timestamp * 1000).toISOString(), data: generation } satisfies WebhookMessage);
    const headers = { 'webhook-id': messageId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(endpoint.secret, messageId, timestamp, body) };
    const outcome = await sendWebhook(endpoint.url, body, headers, { allow: deps.allow, timeoutMs: deps.timeoutMs, resolve: deps.resolve });

    const attempt = job.attemptsMade + 1;
    await deps.db.webhookDelivery.create({
      data: {
        endpointId: endpoint.id,
        messageId,
        eventType: message.eventType,
        generationId: message.generationId,
        attempt,
        statusCode: outcome.statusCode,
        error: outcome.error,
        succeeded: outcome.ok,
        durationMs: outcome.durationMs,
        responseExcerpt: outcome.excerpt,
      },
    });
    deps.log.info('webhook delivery attempt', { endpointId: endpoint.id, generationId: message.generationId, type: message.eventType, attempt, status: outcome.statusCode, ok: outcome.ok, error: outcome.error });
    countWebhookDelivery(outcome.ok ? 'delivered' : outcome.error?.startsWith('refused:') ? 'refused' : 'failed');
    if (outcome.ok) return { outcome: `delivered (${outcome.statusCode})` };
    if (outcome.error?.startsWith('refused:')) throw new UnrecoverableError(outcome.error);
    throw new Error(outcome.error ?? 'delivery failed');
  };
}
