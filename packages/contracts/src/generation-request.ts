import { z } from 'zod';
import { storableText } from './safe-text';
import { generationParamsSchema } from './workflow-template';

export const PRIORITIES = ['interactive', 'normal', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const REFERENCE_MODES = ['auto', 'required'] as const;
export type ReferenceMode = (typeof REFERENCE_MODES)[number];

/** Path segments of the library: letters, digits, dot, dash, underscore; never `.` or `..`. */
export const librarySegment = () =>
  storableText()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "-" and "_" only, starting with a letter or digit');

const dimension = () =>
  z.number().int().min(64).max(2048).refine((n) => n % 8 === 0, { message: 'must be a multiple of 8' });

/** `POST /api/v1/generations` body. Shared by the REST API and the `generation-requests` queue. */
export const generationRequestBodySchema = z
  .object({
    character: storableText().min(1).max(200),
    prompt: storableText().min(1).max(4000),
    negative: storableText().max(4000).optional(),
    project: librarySegment().default('default'),
    episode: librarySegment().default('ep00'),
    scene: librarySegment().default('sc000'),
    shot: librarySegment().optional(),
    count: z.number().int().min(1).max(16).default(1),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    width: dimension().default(512),
    height: dimension().default(512),
    steps: z.number().int().min(1).max(150).default(20),
    outfit: storableText().min(1).max(100).optional(),
    workflow: storableText().min(1).max(200).optional(),
    /** The template's free parameters (validated against the template when the generation is made). */
    params: generationParamsSchema.optional(),
    priority: z.enum(PRIORITIES).default('normal'),
    /** `required`: only a backend whose graph feeds a reference into the model may run it (IP-Adapter). */
    references: z.enum(REFERENCE_MODES).default('auto'),
    /** This generation's terminal event is also POSTed here, through the endpoint registered at this exact URL (see webhookNotRegistered). */
    webhook: z
      .object({ url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000) })
      .strict()
      .optional()
      .describe("this generation's terminal event is also delivered here: the URL of a webhook endpoint registered (POST /api/v1/webhooks) by the same key, whose secret signs it"),
  })
  .strict();

export type GenerationRequestBody = z.infer<typeof generationRequestBodySchema>;
export type GenerationRequestBodyInput = z.input<typeof generationRequestBodySchema>;

/** `character` may be a slug, an id, a display name, or `slug@version`. */
export function parseCharacterRef(ref: string): { key: string; version?: number } {
  const match = /^(.*)@(\d+)$/.exec(ref);
  if (!match) return { key: ref.trim() };
  return { key: match[1].trim(), version: Number(match[2]) };
}
