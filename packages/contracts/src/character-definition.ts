import { z } from 'zod';
import { storableText } from './safe-text';

const text = (max = 2000) => storableText().max(max);

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
      distinguishingFeatures: z.array(text()).default([]),
    })
    .default({ distinguishingFeatures: [] }),
  outfits: z.array(outfitSchema).default([]),
  personality: z.union([text(), z.array(text())]).optional(),
  prompt: z
    .object({
      positive: text(4000).default(''),
      negative: text(4000).default(''),
    })
    .default({ positive: '', negative: '' }),
  triggerWords: z.array(text(200)).default([]),
  loras: z.array(loraSchema).max(20).default([]),
  checkpoint: text(300).optional(),
});

export type CharacterDefinition = z.infer<typeof characterDefinitionSchema>;
export type CharacterDefinitionInput = z.input<typeof characterDefinitionSchema>;

/** Typed key/values attached to a version (hair_color, eye_color, height_cm, ...). */
export const attributeValueSchema = z.union([z.string(), z.number(), z.boolean()]);
export const attributesSchema = z.record(storableText().min(1).max(100).regex(/^[a-z][a-z0-9_]*$/, 'snake_case key'), attributeValueSchema);
export type CharacterAttributes = z.infer<typeof attributesSchema>;
