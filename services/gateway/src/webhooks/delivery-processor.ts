import { createHash } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import type { WebhookAllowList } from '@anime/config';
import { webhookDeliveryMessageSchema, type WebhookMessage } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { countWebhookDelivery, loadGenerationResource } from '@anime/pipeline';
import type { Resolve } from './pinned-lookup';
import { sendWebhook } from './send-webhook';
import { DEFAULT_RETRY_SCHEDULE, nextRetryDelay, parseRetryAfter, type RetrySchedule } from './retry-schedule';
import { signWebhook } from './sign-webhook';

export interface DeliveryDeps {
  db: Db;
  allow: WebhookAllowList;
  log: Logger;
  timeoutMs?: number;
  resolve?: Resolve;
  /** DEFAULT_RETRY_SCHEDULE unless given (tests use short delays). */
  retrySchedule?: RetrySchedule;
}

/** The `webhook-id`: one per event and endpoint, the same on every retry, so a receiver de-duplicates. */
export const webhookMessageId = (endpointId: string, generationId: string, seq: number) =>
  `msg_${createHash('sha256').update(`${endpointId}:${generationId}:${seq}`).digest('hex').slice(0, 32)}`;

/** The receiver's way of saying it wants no more messages (Standard Webhooks): the endpoint is disabled. */
const GONE = 410;

/** A failed try to be made again after `delayMs` (the worker's backoff strategy reads it). */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/** The BullMQ backoff of webhook-deliveries jobs: the delay the failed try chose (see RetryLaterError). */
export const webhookBackoff = (_attemptsMade: number, _type?: string, error?: Error): number => (error instanceof RetryLaterError ? error.delayMs : 1_000);

/**
 * One delivery attempt of one event to one endpoint, recorded whatever happens, with the message's
 * state in PostgreSQL (webhook_messages: tries made, the next one due, finished or not), which is
 * what decides: a message already finished is not sent again (a job the sweep re-enqueued), and its
 * attempt numbers go on from the tries recorded, whatever job carries it. A failure throws so BullMQ
 * retries after the schedule's delay (RetryLaterError); the last try of the schedule gives up; a
 * target the policy refuses is not retried (UnrecoverableError), and a 410 Gone disables the
 * endpoint: neither this message nor any later one is sent to it again. A try still waiting for its
 * receiver when the worker closes (its signal aborted) is cut, recorded, and handed back at once.
 */
export function deliveryProcessor(deps: DeliveryDeps) {
  const schedule = deps.retrySchedule ?? DEFAULT_RETRY_SCHEDULE;
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<{ outcome: string }> => {
    const parsed = webhookDeliveryMessageSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid webhook-deliveries payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const message = parsed.data;
    const key = { endpointId: message.endpointId, generationId: message.generationId, seq: message.seq };
    const finish = (outcome: string) => deps.db.webhookMessage.updateMany({ where: { ...key, finishedAt: null }, data: { finishedAt: new Date(), updatedAt: new Date(), outcome } });
    const endpoint = await deps.db.webhookEndpoint.findUnique({ where: { id: message.endpointId }, include: { apiKey: { select: { revokedAt: true, expiresAt: true } } } });
    if (!endpoint) return { outcome: 'endpoint deleted' };
    const ended = async (outcome: string) => {
      await finish(outcome);
      return { outcome };
    };
    if (endpoint.deletedAt) return ended('endpoint deleted');
    if (endpoint.disabledAt) return ended('endpoint disabled (its receiver answered 410 Gone)');
    // A key revoked (or expired) since the event was queued: its endpoints hear nothing more.
    const apiKey = endpoint.apiKey;
    if (apiKey && (apiKey.revokedAt || (apiKey.expiresAt && apiKey.expiresAt <= new Date()))) return ended('endpoint key no longer valid');
    const generation = await loadGenerationResource(deps.db, message.generationId);
    if (!generation) {
      await finish('generation does not exist');
      throw new UnrecoverableError(`generation ${message.generationId} does not exist`);
    }

    // A job with no message row (queued by an earlier version, or by hand) gets one now.
    const now = new Date();
    await deps.db.webhookMessage.createMany({ data: [{ ...key, eventType: message.eventType, nextAttemptAt: now, createdAt: now, updatedAt: now }], skipDuplicates: true });
    const owed = await deps.db.webhookMessage.findUniqueOrThrow({ where: { endpointId_generationId_seq: key } });
    if (owed.finishedAt) return { outcome: `already finished: ${owed.outcome ?? 'done'}` };

    // The payload's `timestamp` is when the event occurred (its job_events row), the same on every
    // retry; `webhook-timestamp` is the attempt's, signed afresh each time (Standard Webhooks).
    const event = await deps.db.jobEvent.findUnique({ where: { jobId_seq: { jobId: message.generationId, seq: message.seq } }, select: { createdAt: true } });
    const occurredAt = event?.createdAt.toISOString() ?? generation.finishedAt ?? new Date().toISOString();

    const messageId = webhookMessageId(endpoint.id, message.generationId, message.seq);
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: message.eventType, timestamp: occurredAt, data: generation } satisfies WebhookMessage);
    const headers = { 'webhook-id': messageId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(endpoint.secret, messageId, timestamp, body) };
    // The worker closing before the try began: handed back untried, nothing to record.
    if (signal?.aborted) throw new RetryLaterError('handed back untried: the worker is closing', 0);
    const outcome = await sendWebhook(endpoint.url, body, headers, { allow: deps.allow, timeoutMs: deps.timeoutMs, resolve: deps.resolve, signal });
    const gone = outcome.statusCode === GONE;
    const refused = !!outcome.error?.startsWith('refused:');
    const error = gone ? `receiver answered ${GONE} Gone: endpoint disabled, nothing more is sent to it` : outcome.error;

    const attempt = owed.attempts + 1;
    // A try the closing worker cut short (its signal) is recorded like any other and made again at
    // once, by whichever gateway takes the job: not left for the stall check, nor counted as given up.
    const retryInMs = outcome.ok || gone || refused ? null : outcome.stopped ? 0 : nextRetryDelay(schedule, attempt, parseRetryAfter(outcome.retryAfter));
    const finished = outcome.ok ? 'delivered' : gone ? 'receiver answered 410 Gone' : refused ? 'target refused' : retryInMs === null ? `gave up after ${attempt} tries` : null;
    const at = new Date();
    // The attempt, the message's state and (on 410) the endpoint disabled, together: a database
    // failure here retries the attempt, which meets the same answer again.
    await deps.db.$transaction(async (tx) => {
      await tx.webhookDelivery.create({
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
      await tx.webhookMessage.update({
        where: { endpointId_generationId_seq: key },
        data: { attempts: attempt, updatedAt: at, ...(finished ? { finishedAt: at, outcome: finished } : { nextAttemptAt: new Date(at.getTime() + retryInMs!) }) },
      });
      if (gone) await tx.webhookEndpoint.updateMany({ where: { id: endpoint.id, disabledAt: null }, data: { disabledAt: at } });
    });
    deps.log.info('webhook delivery attempt', { endpointId: endpoint.id, generationId: message.generationId, type: message.eventType, attempt, status: outcome.statusCode, ok: outcome.ok, error, retryInMs });
    countWebhookDelivery(outcome.ok ? 'delivered' : refused ? 'refused' : 'failed');
    if (outcome.ok) return { outcome: `delivered (${outcome.statusCode})` };
    if (gone || refused) throw new UnrecoverableError(error!);
    if (retryInMs === null) throw new UnrecoverableError(`${error ?? 'delivery failed'}; gave up after ${attempt} tries`);
    throw new RetryLaterError(error ?? 'delivery failed', retryInMs);
  };
}
