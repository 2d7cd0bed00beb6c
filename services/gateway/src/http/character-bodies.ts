import { z } from 'zod';
import { attributesSchema, CHARACTER_LIMITS, characterDefinitionSchema, isStorableText, storableText } from '@anime/contracts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Slugs become directory names under the library and share the URL segment with ids.
export const slugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'use lower-case letters, digits and single dashes (kebab-case)')
  .refine((slug) => !UUID.test(slug), 'must not look like an id (uuid)');

// The contract's value schema accepts any string; PostgreSQL cannot store NUL or lone surrogates.
const storableAttributes = attributesSchema.superRefine((attributes, ctx) => {
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string' && !isStorableText(value)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'must not contain NUL characters or lone UTF-16 surrogates' });
    } else if (typeof value === 'string' && value.length > CHARACTER_LIMITS.attributeValueLength) {
      ctx.addIssue({ code: 'custom', path: [key], message: `must be at most ${CHARACTER_LIMITS.attributeValueLength} characters` });
    }
  }
});

/** `POST /api/v1/characters/:idOrSlug/versions`. */
export const versionBodySchema = z.object({
  definition: characterDefinitionSchema,
  attributes: storableAttributes.default({}),
  note: storableText().max(4000).nullable().optional(),
});
export type VersionBody = z.infer<typeof versionBodySchema>;

/** `POST /api/v1/characters`: the character and its version 1. */
export const createCharacterBodySchema = versionBodySchema.extend({
  name: storableText().trim().min(1).max(200),
  slug: slugSchema.optional(),
});
export type CreateCharacterBody = z.infer<typeof createCharacterBodySchema>;

export const REFERENCE_KINDS = ['face', 'body', 'outfit', 'style', 'other'] as const;

/** The text parts of a reference upload. */
export const referenceFieldsSchema = z.object({
  label: storableText().trim().min(1).max(200),
  kind: z.enum(REFERENCE_KINDS).default('other'),
});
