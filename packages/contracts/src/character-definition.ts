import { z } from 'zod';
import { jsonRecord } from './json-record';
import { storableText } from './safe-text';

/**
 * Every list and string of a character version is bounded, so no request can make a version cost
 * unbounded memory, rows or time (a version's attributes are one row each). Each refusal names
 * its limit.
 */
export const CHARACTER_LIMITS = {
  attributesPerVersion: 200,
  attributeKeyLength: 100,
  attributeValueLength: 2000,
  outfits: 50,
  loras: 20,
  triggerWords: 50,
  distinguishingFeatures: 50,
  personalityTraits: 50,
  /** The default length of a definition's free text; some fields allow more or less. */
  textLength: 2000,
  /**
   * References attached to a character at once: each is uploaded to every backend that runs one of
   * its jobs and becomes a LoadImage node of every job, so a job's graph and uploads stay bounded.
   */
  attachedReferences: 50,
  /**
   * References a character holds, detached ones included (they stay: versions and assets were made
   * with them), and versions of a character: what one bundle carries, so every export imports again.
   */
  storedReferences: 1000,
  versions: 1000,
} as const;

const text = (max: number = CHARACTER_LIMITS.textLength) => storableText().max(max, `must be at most ${max} characters`);
const list = <T extends z.ZodType>(item: T, max: number, what: string) => z.array(item).max(max, `at most ${max} ${what}`);

export const outfitSchema = z.object({
  name: text(100).min(1),
  description: text().optional(),
  prompt: text().min(1),
});

export const loraSchema = z.object({
  name: text(300).min(1),
  weight: z.number().min(-10).max(10).default(1),
});

/** The full JSON definition of one character version. Declared once; served as JSON Schema. */
export const characterDefinitionSchema = z.object({
  displayName: text(200).min(1),
  description: text(4000).optional(),
  appearance: z
    .object({
      age: z.union([z.number().int().min(0).max(10000), text(100)]).optional(),
      hair: text().optional(),
      eyes: text().optional(),
      build: text().optional(),
      distinguishingFeatures: list(text(), CHARACTER_LIMITS.distinguishingFeatures, 'distinguishing features').default([]),
    })
    .default({ distinguishingFeatures: [] }),
  outfits: list(outfitSchema, CHARACTER_LIMITS.outfits, 'outfits').default([]),
  personality: z.union([text(), list(text(), CHARACTER_LIMITS.personalityTraits, 'personality traits')]).optional(),
  prompt: z
    .object({
      positive: text(4000).default(''),
      negative: text(4000).default(''),
    })
    .default({ positive: '', negative: '' }),
  triggerWords: list(text(200), CHARACTER_LIMITS.triggerWords, 'trigger words').default([]),
  loras: list(loraSchema, CHARACTER_LIMITS.loras, 'LoRAs').default([]),
  checkpoint: text(300).optional(),
});

export type CharacterDefinition = z.infer<typeof characterDefinitionSchema>;
export type CharacterDefinitionInput = z.input<typeof characterDefinitionSchema>;

/** Typed key/values attached to a version (hair_color, eye_color, height_cm, ...). */
export const attributeValueSchema = z.union([z.string(), z.number(), z.boolean()]);
const attributeKeySchema = storableText()
  .min(1)
  .max(CHARACTER_LIMITS.attributeKeyLength, `keys are at most ${CHARACTER_LIMITS.attributeKeyLength} characters`)
  .regex(/^[a-z][a-z0-9_]*$/, 'snake_case key');

// Counted before any entry is parsed: 60,000 attributes are one issue, found at once, not 60,000.
const atMostAttributes = z.custom<unknown>((value) => !value || typeof value !== 'object' || Object.keys(value).length <= CHARACTER_LIMITS.attributesPerVersion, {
  message: `at most ${CHARACTER_LIMITS.attributesPerVersion} attributes per version`,
  abort: true,
}).meta({ type: 'object', maxProperties: CHARACTER_LIMITS.attributesPerVersion, additionalProperties: { type: ['string', 'number', 'boolean'] }, propertyNames: { pattern: '^[a-z][a-z0-9_]*$', maxLength: CHARACTER_LIMITS.attributeKeyLength }, description: `at most ${CHARACTER_LIMITS.attributesPerVersion} attributes per version` });
export const attributesSchema = atMostAttributes.pipe(jsonRecord(attributeKeySchema, attributeValueSchema));
export type CharacterAttributes = z.infer<typeof attributesSchema>;
