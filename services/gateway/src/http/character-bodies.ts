import { z } from 'zod';
import { attributesSchema, CHARACTER_LIMITS, characterDefinitionSchema, isStorableText, isUuidText, jsonRecord, STORABLE_TEXT_MESSAGE, storableText } from '@anime/contracts';

// Slugs become directory names under the library and share the URL segment with ids.
export const slugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'use lower-case letters, digits and single dashes (kebab-case)')
  .refine((slug) => !isUuidText(slug), 'must not look like an id (uuid)');

// The contract's value schema accepts any string; PostgreSQL cannot store NUL or lone surrogates.
const storableAttributes = attributesSchema.superRefine((attributes, ctx) => {
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string' && !isStorableText(value)) {
      ctx.addIssue({ code: 'custom', path: [key], message: STORABLE_TEXT_MESSAGE });
    } else if (typeof value === 'string' && value.length > CHARACTER_LIMITS.attributeValueLength) {
      ctx.addIssue({ code: 'custom', path: [key], message: `must be at most ${CHARACTER_LIMITS.attributeValueLength} characters` });
    }
  }
});

/**
 * `POST /api/v1/characters/:idOrSlug/versions`. Strict: a mistyped `atributes` would otherwise be
 * dropped and the version written without its attributes. `definition` itself is not: versions an
 * import wrote keep legacy keys the schema has no field for, and they are read back through it.
 */
export const versionBodySchema = z
  .object({
    definition: characterDefinitionSchema,
    attributes: storableAttributes.default({}),
    note: storableText().max(4000).nullable().optional(),
  })
  .strict();
export type VersionBody = z.infer<typeof versionBodySchema>;

const mergePatchOf = (what: string) =>
  jsonRecord(z.string(), z.unknown(), { error: `must be a JSON Merge Patch object for the ${what}, or null` }).nullable().optional();

/**
 * `POST /api/v1/characters/:idOrSlug/versions`, the patch form: an RFC 7396 JSON Merge Patch of
 * version `basedOn`'s `{ definition, attributes }` (null deletes a key, arrays are replaced whole).
 * The result is then validated as a full version body (versionBodySchema).
 */
export const versionPatchBodySchema = z
  .object({
    basedOn: z.number({ error: 'must be the number of the version the patch applies to' }).int().min(1).max(999_999_999).describe('the version the patch applies to'),
    patch: z
      .object(
        {
          definition: mergePatchOf('definition').describe('merged into the definition of version basedOn'),
          attributes: mergePatchOf('attributes').describe('merged into the attributes of version basedOn; null deletes one'),
        },
        { error: 'must be a JSON object: a JSON Merge Patch (RFC 7396) of { definition, attributes }' },
      )
      .strict()
      .describe('a JSON Merge Patch (RFC 7396) of { definition, attributes }'),
    note: storableText().max(4000).nullable().optional(),
  })
  .strict()
  .meta({ id: 'VersionPatchBody' });
export type VersionPatchBody = z.infer<typeof versionPatchBodySchema>;

/** A body naming `basedOn` or `patch` is the patch form; any other is a full version. */
export const isVersionPatchBody = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && !Array.isArray(body) && ('basedOn' in body || 'patch' in body);

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
