import { z } from 'zod';
import { attributesSchema } from './character-definition';
import { anyJsonValue, isoDate } from './resource-fields';

// The character resources the REST API returns (see resources.ts for why they are zod schemas).


export const characterVersionResourceSchema = z
  .object({
    number: z.number().int(),
    definition: z.record(z.string(), z.unknown()).describe('the character definition (CharacterDefinition schema)'),
    attributes: attributesSchema,
    note: z.string().nullable(),
    createdAt: isoDate,
  })
  .meta({ id: 'CharacterVersion', description: 'An immutable version of a character.' });
export type CharacterVersionResource = z.infer<typeof characterVersionResourceSchema>;

export const characterReferenceResourceSchema = z
  .object({
    id: z.uuid(),
    label: z.string(),
    kind: z.string(),
    sha256: z.string(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    mime: z.string(),
    bytes: z.number().int(),
    url: z.string(),
    missing: z.boolean().describe('the library no longer holds its file'),
    createdAt: isoDate,
  })
  .meta({ id: 'CharacterReference', description: 'A reference image of a character.' });
export type CharacterReferenceResource = z.infer<typeof characterReferenceResourceSchema>;

export const characterSummarySchema = z
  .object({ id: z.uuid(), slug: z.string(), name: z.string(), currentVersion: z.number().int(), archived: z.boolean(), referenceCount: z.number().int() })
  .meta({ id: 'CharacterSummary' });
export type CharacterSummary = z.infer<typeof characterSummarySchema>;

export const characterDetailSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    archived: z.boolean(),
    currentVersion: characterVersionResourceSchema.nullable(),
    versionCount: z.number().int(),
    references: z.array(characterReferenceResourceSchema),
  })
  .meta({ id: 'Character' });
export type CharacterDetail = z.infer<typeof characterDetailSchema>;

export const versionDiffSchema = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    changes: z.array(z.object({ path: z.string().describe('a JSON pointer'), before: anyJsonValue.describe('the value in `from`; null where it has none'), after: anyJsonValue.describe('the value in `to`; null where it has none') })),
  })
  .meta({ id: 'VersionDiff' });

export const bundleImportResultSchema = z
  .object({
    character: characterDetailSchema,
    created: z.boolean(),
    versionsAdded: z.array(z.number().int()),
    referencesAdded: z.number().int(),
  })
  .meta({ id: 'BundleImportResult' });
