import { z } from 'zod';
import { JOB_ERROR_CODES } from './job-errors';
import { JOB_STAGES } from './job-stages';
import { referenceAppliedHowSchema } from './stored-columns';
import { anyJsonValue, isoDate } from './resource-fields';

// The resources the REST API returns, as zod schemas: the OpenAPI document is generated from them
// (services/gateway/src/http/openapi), and the types the code builds them with are inferred from
// them, so the document cannot drift from what is sent.

const uuid = z.uuid();

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: JobStatus[] = ['completed', 'failed', 'canceled'];

export const apiErrorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('stable snake_case code, e.g. validation_failed, not_found, unauthenticated'),
      message: z.string().describe('a human sentence'),
      details: z.unknown().optional().describe('for validation_failed: [{ path, message }] per bad field'),
    }),
  })
  .meta({ id: 'Error', description: 'Every non-2xx answer of the gateway.' });

export const referenceUsedSchema = z
  .object({
    id: uuid,
    label: z.string(),
    kind: z.string(),
    sha256: z.string(),
    applied: z.boolean().optional().describe('whether it conditioned the image on the backend that rendered it; absent until a graph was built'),
    appliedHow: referenceAppliedHowSchema.optional(),
  })
  .meta({ id: 'ReferenceUsed', description: 'A character reference image a generation used, as recorded when its character was resolved.' });
export type ReferenceUsed = z.infer<typeof referenceUsedSchema>;

export const assetResourceSchema = z
  .object({
    id: uuid,
    jobId: uuid,
    sha256: z.string().describe('of the file, byte for byte what ComfyUI produced'),
    width: z.number().int(),
    height: z.number().int(),
    mime: z.string(),
    bytes: z.number().int(),
    path: z.string().describe('relative to LIBRARY_DIR'),
    url: z.string().describe('/api/v1/assets/<id>/file'),
    thumbnailUrl: z.string(),
    status: z.string(),
    character: z.object({ id: uuid, slug: z.string(), version: z.number().int() }),
    outfit: z.string().nullable(),
    references: z.array(referenceUsedSchema),
    project: z.string(),
    episode: z.string(),
    scene: z.string(),
    shot: z.string().nullable(),
    createdAt: isoDate,
  })
  .meta({ id: 'Asset' });
export type AssetResource = z.infer<typeof assetResourceSchema>;

export const jobErrorSchema = z
  .object({ code: z.enum(JOB_ERROR_CODES), message: z.string(), details: z.unknown().optional() })
  .meta({ id: 'JobError', description: "Why a generation failed: comfyui_validation names each failing node with ComfyUI's own message." });

export const generationResourceSchema = z
  .object({
    id: uuid,
    status: z.enum(JOB_STATUSES),
    stage: z.enum(JOB_STAGES).describe('the step it reached: requested, resolved, submitted, rendered, filed (kept when it failed there)'),
    progress: z.object({ value: z.number(), max: z.number(), node: z.string().nullable() }).nullable(),
    error: jobErrorSchema.nullable(),
    character: z.object({ id: uuid, slug: z.string(), name: z.string(), version: z.number().int().nullable() }).nullable(),
    outfit: z.string().nullable().describe('the outfit the character version contributed (null until resolved)'),
    references: z.array(referenceUsedSchema),
    workflow: z
      .object({ slug: z.string(), version: z.number().int(), params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) })
      .nullable()
      .describe('the template version it runs and its parameter values, chosen when it was resolved'),
    request: anyJsonValue.describe('the request as it was accepted'),
    source: z.string().describe('the producing system (api for REST)'),
    requestId: z.string().nullable().describe("the producer's idempotency key"),
    seed: z.number().int().nullable(),
    backend: z.string().nullable(),
    promptId: z.string().nullable(),
    attempts: z.array(
      z.object({
        number: z.number().int(),
        backend: z.string(),
        promptId: z.string(),
        submittedAt: isoDate.describe("the prompt entered the backend's queue"),
        startedAt: isoDate.nullable().describe('ComfyUI began executing it'),
        finishedAt: isoDate.nullable(),
        error: anyJsonValue.describe('why the attempt ended ({ code, message }), or null'),
      }),
    ),
    assets: z.array(assetResourceSchema),
    createdAt: isoDate,
    startedAt: isoDate.nullable(),
    finishedAt: isoDate.nullable(),
  })
  .meta({ id: 'Generation' });
export type GenerationResource = z.infer<typeof generationResourceSchema>;

export const backendResourceSchema = z
  .object({
    id: z.string().describe('stable for a URL: a short hash of the normalised URL'),
    url: z.string(),
    state: z.enum(['up', 'draining', 'down']).describe('down: not answering; draining: answering but taking no new job; up: taking jobs'),
    busy: z.boolean().describe('it holds work: a prompt running or queued there, or a job the orchestrator drives on it'),
    inFlight: z.number().int().describe('prompts the orchestrator drives on it right now'),
    queueDepth: z.number().int().describe("ComfyUI's queue_remaining (pending + running), as last seen while it answers; 0 while down and not answering (its queue is not known)"),
    jobsDone: z.number().int(),
    lastError: z.string().nullable(),
    lastSeenAt: isoDate.nullable(),
    drainedAt: isoDate.nullable(),
    checkpoints: z.array(z.string()),
    loras: z.array(z.string()),
    ipAdapter: z.boolean(),
  })
  .meta({ id: 'Backend', description: 'A ComfyUI backend of the pool.' });
export type BackendResource = z.infer<typeof backendResourceSchema>;
