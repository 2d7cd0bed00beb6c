import { z } from 'zod';
import { generationRequestBodySchema } from './generation-request';

/**
 * Queue names are persisted in Redis and used by other systems: never rename one without
 * a migration that drains the old queue.
 */
export const QUEUES = {
  /** Entry point: the REST gateway and other systems put generation requests here. */
  generationRequests: 'generation-requests',
  /** Character-resolved jobs waiting for a ComfyUI backend (orchestrator). */
  generationRenders: 'generation-renders',
  /** Finished prompts whose outputs must be filed into the library (file-organizer). */
  assetFiling: 'asset-filing',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Job names, one per queue for now; camelCase verbs. */
export const JOB_NAMES = {
  generationRequests: 'resolveCharacter',
  generationRenders: 'renderPrompt',
  assetFiling: 'fileOutputs',
} as const;

/**
 * Payload of `generation-requests`: the POST body plus a schema version, an optional idempotency
 * key, and (when the gateway already created the job row) the generation id.
 */
export const generationRequestPayloadSchema = generationRequestBodySchema.extend({
  schemaVersion: z.literal(1),
  requestId: z.string().min(1).max(200).optional(),
  generationId: z.string().uuid().optional(),
  correlationId: z.string().max(200).optional(),
});
export type GenerationRequestPayload = z.infer<typeof generationRequestPayloadSchema>;
export type GenerationRequestPayloadInput = z.input<typeof generationRequestPayloadSchema>;

export const generationRenderPayloadSchema = z.object({
  schemaVersion: z.literal(1),
  generationId: z.string().uuid(),
  correlationId: z.string().max(200).optional(),
});
export type GenerationRenderPayload = z.infer<typeof generationRenderPayloadSchema>;

export const assetFilingPayloadSchema = z.object({
  schemaVersion: z.literal(1),
  generationId: z.string().uuid(),
  correlationId: z.string().max(200).optional(),
});
export type AssetFilingPayload = z.infer<typeof assetFilingPayloadSchema>;

/**
 * BullMQ job ids derived from the generation id: adding the same stage twice is a no-op, which
 * is what lets recovery sweeps re-enqueue from PostgreSQL without creating duplicates.
 */
export const stageJobId = {
  generationRequests: (generationId: string) => `request-${generationId}`,
  generationRenders: (generationId: string) => `render-${generationId}`,
  assetFiling: (generationId: string) => `filing-${generationId}`,
};

/** BullMQ priority: lower runs first. */
export const PRIORITY_RANK = { interactive: 1, normal: 5, batch: 10 } as const;
