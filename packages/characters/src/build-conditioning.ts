import { characterDefinitionSchema, type CharacterAttributes, type CharacterDefinitionInput, type ConditioningReference, type JobConditioning } from '@anime/contracts';
import { CharacterDomainError } from './character-domain-error';
import { isNeverStoredReference } from './never-stored-reference';

export interface ConditioningReferenceInput extends ConditioningReference {
  missing?: boolean;
}

export type { ConditioningReference };

export interface BuildConditioningInput {
  /** A version's stored definition; defaults are filled in here. */
  definition: CharacterDefinitionInput;
  /** The version's typed attributes, as a record or as its attribute rows. */
  attributes: CharacterAttributes | { key: string; value: unknown }[];
  /** Outfit name, matched case-insensitively; none means no outfit prompt. */
  outfit?: string | null;
  userPrompt: string;
  userNegative?: string | null;
  references: ConditioningReferenceInput[];
}

/** The record stored on the job, declared once in the contracts. */
export type Conditioning = JobConditioning;

/**
 * Turns one character version plus a user's request into what a workflow needs.
 *
 * Positive prompt, in this fixed order: trigger words; appearance (age, hair + `hair_color` /
 * `hair_style` attributes, eyes + `eye_color`, build or `body_type`, `skin_tone`, distinguishing
 * features); the chosen outfit's prompt; the definition's `prompt.positive`; the user's prompt.
 * Every part is split on commas into tags, trimmed, and a tag seen before (case-insensitively)
 * is dropped, so the first mention wins and the character's identity stays ahead of the user's words.
 * Negative prompt: the definition's `prompt.negative`, then the user's negative, deduplicated the same way.
 * References whose file the library never held (isNeverStoredReference) are left out: a workflow
 * cannot load them. One stored once and found missing since stays: the job fails on it with
 * `reference_unavailable` until its file is back, so no image is made without it unnoticed.
 *
 * @throws CharacterDomainError `outfit_not_found` when `outfit` names none of the definition's outfits;
 *   `details.available` lists the names there are.
 */
export function buildConditioning(input: BuildConditioningInput): Conditioning {
  const definition = characterDefinitionSchema.parse(input.definition);
  const attributes = toRecord(input.attributes);
  const outfit = chooseOutfit(definition, input.outfit);

  const positive = joinTags([
    ...definition.triggerWords,
    ...appearanceTags(definition.appearance, attributes),
    outfit?.prompt,
    definition.prompt.positive,
    input.userPrompt,
  ]);
  const negative = joinTags([definition.prompt.negative, input.userNegative]);

  return {
    positive,
    negative,
    loras: definition.loras.map(({ name, weight }) => ({ name, weight })),
    ...(definition.checkpoint ? { checkpoint: definition.checkpoint } : {}),
    references: input.references
      .filter((ref) => !isNeverStoredReference(ref))
      .map(({ id, label, kind, sha256, path }) => ({ id, label, kind, sha256, path })),
    outfit: outfit?.name ?? null,
  };
}

type Definition = ReturnType<typeof characterDefinitionSchema.parse>;
type AttributeRecord = Record<string, unknown>;

function chooseOutfit(definition: Definition, wanted: string | null | undefined): Definition['outfits'][number] | null {
  if (wanted === undefined || wanted === null || wanted.trim() === '') return null;
  const key = wanted.trim().toLowerCase();
  // An outfit named exactly as asked wins over one differing only in case (a version may hold both).
  const found = definition.outfits.find((o) => o.name.trim() === wanted.trim()) ?? definition.outfits.find((o) => o.name.trim().toLowerCase() === key);
  if (found) return found;
  const available = definition.outfits.map((o) => o.name);
  throw new CharacterDomainError(
    'outfit_not_found',
    `outfit "${wanted}" not found for ${definition.displayName}; available: ${available.length ? available.join(', ') : '(none)'}`,
    { outfit: wanted, available },
  );
}

function appearanceTags(appearance: Definition['appearance'], attributes: AttributeRecord): (string | undefined)[] {
  const age = appearance.age ?? attributes.age;
  const build = appearance.build ?? text(attributes.build) ?? text(attributes.body_type);
  return [
    typeof age === 'number' ? `${age} years old` : text(age),
    appearance.hair,
    unlessMentioned(appearance.hair, attributes.hair_color, 'hair'),
    unlessMentioned(appearance.hair, attributes.hair_style, 'hair'),
    appearance.eyes,
    unlessMentioned(appearance.eyes, attributes.eye_color, 'eyes'),
    build,
    unlessMentioned(undefined, attributes.skin_tone, 'skin'),
    ...appearance.distinguishingFeatures,
  ];
}

// An attribute only restates what the free-text field may already say ("short black hair" + black).
function unlessMentioned(freeText: string | undefined, value: unknown, noun: string): string | undefined {
  const word = text(value);
  if (!word) return undefined;
  if (freeText?.toLowerCase().includes(word.toLowerCase())) return undefined;
  return word.toLowerCase().endsWith(noun) ? word : `${word} ${noun}`;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function toRecord(attributes: BuildConditioningInput['attributes']): AttributeRecord {
  if (!Array.isArray(attributes)) return attributes;
  return Object.fromEntries(attributes.map((a) => [a.key, a.value]));
}

function joinTags(parts: (string | null | undefined)[]): string {
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const part of parts) {
    for (const raw of (part ?? '').split(',')) {
      const tag = raw.replace(/\s+/g, ' ').trim();
      const key = tag.toLowerCase();
      if (!tag || seen.has(key)) continue;
      seen.add(key);
      tags.push(tag);
    }
  }
  return tags.join(', ');
}
