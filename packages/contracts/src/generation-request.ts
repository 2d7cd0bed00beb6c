import { z } from 'zod';
import { storableText } from './safe-text';
import { webhookUrlSchema } from './webhooks';
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

// multipleOf rather than a refine: the published JSON Schema then carries the rule as well.
const dimension = () => z.number().int().min(64).max(2048).multipleOf(8, 'must be a multiple of 8');

/** `POST /api/v1/generations` body. Shared by the REST API and the `generation-requests` queue. */
export const generationRequestBodySchema = z
  .object({
    character: storableText().min(1).max(200).describe('The character: slug, id, display name, or `slug@N` for version N (default: its current version).'),
    prompt: storableText().min(1).max(4000).describe('What to draw; the character\'s trigger words, appearance and outfit are added to it.'),
    negative: storableText().max(4000).optional().describe('Extra negative prompt, added to the character\'s own.'),
    project: librarySegment().default('default').describe('Library folder level 1; a key limited to projects may only use its own.'),
    episode: librarySegment().default('ep00').describe('Library folder level 2.'),
    scene: librarySegment().default('sc000').describe('Library folder level 3.'),
    shot: librarySegment().optional().describe('Optional library folder under the character\'s.'),
    count: z.number().int().min(1).max(16).default(1).describe('Images in the batch.'),
    seed: z.number().int().min(0).optional().describe('Sampler seed; default random, recorded on the generation.'),
    width: dimension().default(512).describe('Image width in pixels, a multiple of 8.'),
    height: dimension().default(512).describe('Image height in pixels, a multiple of 8.'),
    steps: z.number().int().min(1).max(150).default(20).describe('Sampler steps.'),
    outfit: storableText().min(1).max(100).optional().describe('One of the character version\'s outfits, any case.'),
    workflow: storableText().min(1).max(200).optional().describe('A registered workflow template, `slug` or `slug@N` (default: the built-in txt2img).'),
    /** The template's free parameters (validated against the template when the generation is made). */
    params: generationParamsSchema.optional().describe('The workflow template\'s parameters by name, checked against the template.'),
    priority: z.enum(PRIORITIES).default('normal').describe('Queue priority; `interactive` needs the generate:interactive scope over REST.'),
    /** `required`: only a backend whose graph feeds a reference into the model may run it (IP-Adapter). */
    references: z.enum(REFERENCE_MODES).default('auto').describe('`required`: only a backend that feeds reference images into the model (IP-Adapter) may run it.'),
    /** This generation's terminal event is also POSTed here, through the endpoint registered at this exact URL (see webhookNotRegistered). */
    webhook: z
      .object({ url: webhookUrlSchema.describe('the http(s) URL of a webhook endpoint registered by the same key (over REST), or reaching the generation\'s project (a queue message)') })
      .strict()
      .optional()
      .describe("this generation's terminal event is also delivered here: the URL of a webhook endpoint registered (POST /api/v1/webhooks) by the same key, whose secret signs it"),
  })
  .strict();

export type GenerationRequestBody = z.infer<typeof generationRequestBodySchema>;
export type GenerationRequestBodyInput = z.input<typeof generationRequestBodySchema>;

/**
 * `character` may be a slug, an id, a display name, or `slug@version`. Spaces around it are not part
 * of it, so `"kai@2 "` pins version 2 as `" kai"` names kai.
 */
export function parseCharacterRef(ref: string): { key: string; version?: number } {
  const trimmed = ref.trim();
  const match = /^(.*)@(\d+)$/.exec(trimmed);
  if (!match) return { key: trimmed };
  return { key: match[1].trim(), version: Number(match[2]) };
}
