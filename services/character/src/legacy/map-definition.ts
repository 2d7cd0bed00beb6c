import { characterDefinitionSchema } from '@anime/contracts';

type Json = Record<string, unknown>;

export interface MappedDefinition {
  /** What is stored: the schema's fields, plus every legacy key the schema has no field for. */
  definition: Json;
  /** Legacy keys kept as they were (`voice_notes`, `appearance.skin`, ...), for the report. */
  keptKeys: string[];
}

const TOP_LEVEL = new Set([
  'name', 'display_name', 'displayName', 'description', 'appearance', 'outfits', 'personality',
  'positive_prompt', 'negative_prompt', 'prompt', 'trigger_words', 'trigger_word', 'triggerWords',
  'lora', 'loras', 'checkpoint', 'model', 'base_model',
]);
const APPEARANCE = new Set(['age', 'hair', 'eyes', 'build', 'distinguishing_features', 'distinguishingFeatures', 'features']);
const OUTFIT = new Set(['name', 'description', 'prompt']);

/**
 * Maps one legacy JSON definition onto characterDefinitionSchema. Keys it has no field for are
 * not dropped: they stay in the stored JSON where they were, since only the schema's fields are
 * read back and a later schema may give them a home.
 *
 * @throws Error when the definition is not an object, or naming every field that fails the schema after mapping.
 */
export function mapLegacyDefinition(raw: unknown, fallback: { name: string; description?: string | null }): MappedDefinition {
  if (!isObject(raw)) throw new Error('definition is not a JSON object');
  const source = raw;
  const appearance = isObject(source.appearance) ? source.appearance : {};
  const outfits = legacyOutfits(source.outfits);
  const prompt = isObject(source.prompt) ? source.prompt : { positive: source.prompt };

  const mapped = {
    displayName: firstText(source.display_name, source.displayName, source.name) ?? fallback.name,
    description: firstText(source.description, fallback.description),
    appearance: {
      age: appearance.age ?? undefined,
      hair: firstText(appearance.hair),
      eyes: firstText(appearance.eyes),
      build: firstText(appearance.build),
      distinguishingFeatures: textList(appearance.distinguishing_features ?? appearance.distinguishingFeatures ?? appearance.features),
    },
    outfits: outfits.map((o) => ({ name: firstText(o.name), description: firstText(o.description), prompt: firstText(o.prompt) })),
    personality: Array.isArray(source.personality) ? textList(source.personality) : firstText(source.personality),
    prompt: {
      positive: firstText(source.positive_prompt, prompt.positive) ?? '',
      negative: firstText(source.negative_prompt, prompt.negative) ?? '',
    },
    triggerWords: textList(source.trigger_words ?? source.triggerWords ?? source.trigger_word),
    loras: legacyLoras(source.loras ?? source.lora),
    checkpoint: firstText(source.checkpoint, source.model, source.base_model),
  };

  const result = characterDefinitionSchema.safeParse(mapped);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(definition)'}: ${i.message}`);
    throw new Error(`definition does not fit the schema: ${problems.join('; ')}`);
  }
  const parsed = result.data;
  const keptKeys = [
    ...extraKeys(source, TOP_LEVEL),
    ...extraKeys(appearance, APPEARANCE).map((k) => `appearance.${k}`),
    ...outfits.flatMap((o, i) => extraKeys(o, OUTFIT).map((k) => `outfits.${i}.${k}`)),
  ];
  const definition: Json = {
    ...pick(source, extraKeys(source, TOP_LEVEL)),
    ...parsed,
    appearance: { ...pick(appearance, extraKeys(appearance, APPEARANCE)), ...parsed.appearance },
    outfits: parsed.outfits.map((o, i) => ({ ...pick(outfits[i], extraKeys(outfits[i], OUTFIT)), ...o })),
  };
  return { definition, keptKeys };
}

function legacyOutfits(value: unknown): Json[] {
  if (Array.isArray(value)) return value.map((o) => (isObject(o) ? o : { name: String(o), prompt: String(o) }));
  // An older layout kept outfits as { "<name>": "<prompt>" }.
  if (isObject(value)) return Object.entries(value).map(([name, v]) => (isObject(v) ? { name, ...v } : { name, prompt: v }));
  return [];
}

function legacyLoras(value: unknown): { name: string | undefined; weight: unknown }[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.map((l) =>
    isObject(l)
      ? { name: firstText(l.name, l.file, l.filename, l.path), weight: l.weight ?? l.strength ?? 1 }
      : { name: firstText(l), weight: 1 },
  );
}

function textList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String).map((s) => s.trim()).filter(Boolean);
}

function firstText(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

function extraKeys(object: Json, known: Set<string>): string[] {
  return Object.keys(object).filter((k) => !known.has(k));
}

function pick(object: Json, keys: string[]): Json {
  return Object.fromEntries(keys.map((k) => [k, object[k]]));
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
