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

/** The receiver's way of saying it wants no more messages (Standard Webhooks): the endpoint is disabled. */
const GONE = 410;

/**
 * One delivery attempt of one event to one endpoint, recorded whatever happens. A failure throws so
 * BullMQ retries with backoff; a target the policy refuses is not retried (UnrecoverableError), and
 * a 410 Gone disables the endpoint: neither this message nor any later one is sent to it again.
 */
export function deliveryProcessor(deps: DeliveryDeps) {
  return async (job: Job): Promise<{ outcome: string }> => {
    const parsed = webhookDeliveryMessageSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid webhook-deliveries payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const message = parsed.data;
    const endpoint = await deps.db.webhookEndpoint.findUnique({ where: { id: message.endpointId }, include: { apiKey: { select: { revokedAt: true, expiresAt: true } } } });
    if (!endpoint || endpoint.deletedAt) return { outcome: 'endpoint deleted' };
    if (endpoint.disabledAt) return { outcome: 'endpoint disabled (its receiver answered 410 Gone)' };
    // A key revoked (or expired) since the event was queued: its endpoints hear nothing more.
    const key = endpoint.apiKey;
    if (key && (key.revokedAt || (key.expiresAt && key.expiresAt <= new Date()))) return { outcome: 'endpoint key no longer valid' };
    const generation = await loadGenerationResource(deps.db, message.generationId);
    if (!generation) throw new UnrecoverableError(`generation ${message.generationId} does not exist`);

    // The payload's `timestamp` is when the event occurred (its job_events row), the same on every
    // retry; `webhook-timestamp` is the attempt's, signed afresh each time (Standard Webhooks).
    const event = await deps.db.jobEvent.findUnique({ where: { jobId_seq: { jobId: message.generationId, seq: message.seq } }, select: { createdAt: true } });
    const occurredAt = event?.createdAt.toISOString() ?? generation.finishedAt ?? new Date().toISOString();

    const messageId = webhookMessageId(endpoint.id, message.generationId, message.seq);
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: message.eventType, timestamp: occurredAt, data: generation } satisfies WebhookMessage);
    const headers = { 'webhook-id': messageId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(endpoint.secret, messageId, timestamp, body) };
    const outcome = await sendWebhook(endpoint.url, body, headers, { allow: deps.allow, timeoutMs: deps.timeoutMs, resolve: deps.resolve });
    const gone = outcome.statusCode === GONE;
    const error = gone ? `receiver answered ${GONE} Gone: endpoint disabled, nothing more is sent to it` : outcome.error;

    const attempt = job.attemptsMade + 1;
    await deps.db.webhookDelivery.create({
      data: {
        endpointId: endpoint.id,
        messageId,
        eventType: message.eventType,
        generationId: message.generationId,
        attempt,
        statusCode: outcome.statusCode,
        error,
        succeeded: outcome.ok,
        durationMs: outcome.durationMs,
        responseExcerpt: outcome.excerpt,
      },
    });
    deps.log.info('webhook delivery attempt', { endpointId: endpoint.id, generationId: message.generationId, type: message.eventType, attempt, status: outcome.statusCode, ok: outcome.ok, error });
    countWebhookDelivery(outcome.ok ? 'delivered' : error?.startsWith('refused:') ? 'refused' : 'failed');
    if (outcome.ok) return { outcome: `delivered (${outcome.statusCode})` };
    if (gone) {
      // Recorded first: a database failure here retries the attempt, which meets the 410 again.
      await deps.db.webhookEndpoint.updateMany({ where: { id: endpoint.id, disabledAt: null }, data: { disabledAt: new Date() } });
      throw new UnrecoverableError(error!);
    }
    if (error?.startsWith('refused:')) throw new UnrecoverableError(error);
    throw new Error(error ?? 'delivery failed');
  };
}
