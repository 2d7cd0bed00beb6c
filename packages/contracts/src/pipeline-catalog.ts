import { z } from 'zod';
import { generationRequestBodySchema } from './generation-request';
import type { JobStage } from './job-stages';
import { storableText } from './safe-text';
import { WEBHOOK_EVENT_TYPES } from './webhooks';

/** The services that consume queues; each queue has exactly one. */
export type ConsumerService = 'character' | 'orchestrator' | 'file-organizer' | 'gateway';

/** A stage job's retry policy, in BullMQ's own terms (`attempts`, `backoff`). */
export interface RetryPolicy {
  attempts: number;
  /** BullMQ's own, or one its worker computes (`webhook`: the delay the failed try chose). */
  backoff: { type: 'exponential' | 'fixed'; delay: number } | { type: 'webhook' };
}

export interface CatalogEntry<S extends z.ZodType> {
  /** Persisted in Redis and used by other systems: never rename without draining the old queue. */
  name: string;
  /** camelCase verb. */
  jobName: string;
  consumer: ConsumerService;
  /** What a message must be; the consumer parses every message against it. */
  schema: S;
  /** The BullMQ job id for a message: derived from the generation, so a repeated add is a no-op. */
  jobId: (payload: z.infer<S>) => string | undefined;
  /** The generation stages whose work this queue carries; recovery sweeps select by them. */
  stages: readonly JobStage[];
  /** The one retry policy of this queue's jobs. */
  retry: RetryPolicy;
}

const correlationId = storableText().max(200).optional().describe('Carried into every log line of the job (the gateway copies x-request-id); not the idempotency key.');

/**
 * What another system (or the gateway) puts on `generation-requests`: the POST body plus a schema
 * version, the producer's name (`source`) and an idempotency key unique within that source.
 * `generationId` names an existing generation; once one exists its row decides, not the message.
 */
export const generationRequestMessageSchema = generationRequestBodySchema.extend({
  schemaVersion: z.literal(1).describe('Always 1.'),
  source: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'letters, digits, ".", "_", ":" and "-"; at most 64')
    .default('queue')
    .describe('The producing system; requestId is unique within it.'),
  requestId: storableText().min(1).max(200).optional().describe('Idempotency key, unique within source: the same (source, requestId) gives back the same generation.'),
  generationId: z.string().uuid().optional().describe('An existing generation (recovery re-enqueues these); its stored request decides, not this message.'),
  correlationId,
});
export type GenerationRequestMessage = z.infer<typeof generationRequestMessageSchema>;
export type GenerationRequestMessageInput = z.input<typeof generationRequestMessageSchema>;

/** A stage job naming a generation whose row holds everything the stage needs. */
export const generationRefSchema = z
  .object({ schemaVersion: z.literal(1).describe('Always 1.'), generationId: z.string().uuid().describe('The generation whose row holds everything the stage needs.'), correlationId })
  .strict();
export type GenerationRef = z.infer<typeof generationRefSchema>;

/** `generation-requests` takes a full request, or (from recovery) a reference to an existing row. */
export const generationRequestPayloadSchema = z
  .union([generationRefSchema, generationRequestMessageSchema])
  .describe(
    'A message of the generation-requests queue (job name resolveCharacter): a new request, or a reference to an existing generation. Strings must not hold NUL characters or lone UTF-16 surrogates; a message over 64 KiB as stored JSON is refused unread.',
  );
export type GenerationRequestPayload = z.infer<typeof generationRequestPayloadSchema>;

/**
 * One event for one webhook endpoint: ids only, the dispatcher loads the endpoint and the generation.
 * `seq` is the terminal event's number, so a generation retried and ending again is a new message.
 */
export const webhookDeliveryMessageSchema = z
  .object({
    schemaVersion: z.literal(1),
    endpointId: z.uuid(),
    generationId: z.uuid(),
    eventType: z.enum(WEBHOOK_EVENT_TYPES),
    seq: z.number().int().positive(),
  })
  .strict();
export type WebhookDeliveryMessage = z.infer<typeof webhookDeliveryMessageSchema>;

const refJobId = (prefix: string) => (payload: { generationId?: string }) => (payload.generationId ? `${prefix}-${payload.generationId}` : undefined);

/**
 * Every queue of the pipeline, declared once. Producers enqueue and consumers consume by key
 * (packages/pipeline), so neither side can pair a queue with another queue's schema.
 */
export const PIPELINE_CATALOG = {
  generationRequests: {
    name: 'generation-requests',
    jobName: 'resolveCharacter',
    consumer: 'character',
    schema: generationRequestPayloadSchema,
    jobId: refJobId('request'),
    stages: ['requested'],
    retry: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 } },
  },
  generationRenders: {
    name: 'generation-renders',
    jobName: 'renderPrompt',
    consumer: 'orchestrator',
    schema: generationRefSchema,
    jobId: refJobId('render'),
    stages: ['resolved', 'submitted'],
    // attempts: JOB_MAX_ATTEMPTS overrides this default (see createPipelineQueues).
    retry: { attempts: 3, backoff: { type: 'exponential', delay: 1_000 } },
  },
  assetFiling: {
    name: 'asset-filing',
    jobName: 'fileOutputs',
    consumer: 'file-organizer',
    schema: generationRefSchema,
    jobId: refJobId('filing'),
    stages: ['rendered'],
    retry: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 } },
  },
  webhookDeliveries: {
    name: 'webhook-deliveries',
    jobName: 'deliverWebhook',
    // The gateway owns webhook endpoints (their routes and secrets); it runs this queue's worker.
    consumer: 'gateway',
    schema: webhookDeliveryMessageSchema,
    // One job per event and endpoint: the stream read twice (a restart before XACK) adds nothing.
    jobId: (m: { endpointId?: string; generationId?: string; seq?: number }) => (m.endpointId && m.generationId && m.seq ? `webhook-${m.endpointId}-${m.generationId}-${m.seq}` : undefined),
    stages: [],
    // The gateway's retry schedule decides (tries made and the next one due are kept in PostgreSQL,
    // webhook_messages, and a job lost by Redis is re-enqueued from there, starting its count anew):
    // the worker's backoff strategy gives the delay the failed try chose; the last try of the
    // schedule fails unrecoverably. `attempts` only has to be more than any schedule's tries.
    retry: { attempts: 1_000, backoff: { type: 'webhook' } },
  },
} as const satisfies Record<string, CatalogEntry<any>>;

export type QueueKey = keyof typeof PIPELINE_CATALOG;
/** The queues that carry a generation's stages (webhook deliveries carry none). */
export type StageQueueKey = Exclude<QueueKey, 'webhookDeliveries'>;
export const QUEUE_KEYS = Object.keys(PIPELINE_CATALOG) as QueueKey[];
export type QueuePayload<K extends QueueKey> = z.infer<(typeof PIPELINE_CATALOG)[K]['schema']>;
export type QueuePayloadInput<K extends QueueKey> = z.input<(typeof PIPELINE_CATALOG)[K]['schema']>;

/** Queue names by key, for dashboards and docs. */
export const QUEUES = Object.fromEntries(QUEUE_KEYS.map((k) => [k, PIPELINE_CATALOG[k].name])) as { [K in QueueKey]: (typeof PIPELINE_CATALOG)[K]['name'] };

/** The queue of the catalog by its BullMQ name (a dashboard's, an operator's); null for none. */
export function queueKeyNamed(name: string): QueueKey | null {
  return QUEUE_KEYS.find((key) => PIPELINE_CATALOG[key].name === name) ?? null;
}

/** The queues a service consumes: a service must handle each of them (checked at compile time and at start). */
export type QueuesOf<S extends ConsumerService> = { [K in QueueKey]: (typeof PIPELINE_CATALOG)[K]['consumer'] extends S ? K : never }[QueueKey];

/** The queue that carries a generation's work at a stage (none once it is filed). */
export function queueForStage(stage: JobStage): StageQueueKey | null {
  return (QUEUE_KEYS.find((key) => (PIPELINE_CATALOG[key].stages as readonly JobStage[]).includes(stage)) as StageQueueKey | undefined) ?? null;
}

/** BullMQ priority: lower runs first. */
export const PRIORITY_RANK = { interactive: 1, normal: 5, batch: 10 } as const;
