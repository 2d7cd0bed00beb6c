import { safeName } from '@anime/characters';
import { CHARACTER_LIMITS } from '@anime/contracts';
import type { ReferenceKind } from '@anime/db';
import { mapAttribute, type TypedAttribute } from './map-attribute';
import { mapLegacyDefinition } from './map-definition';
import type { LegacyCharacter } from './read-legacy';

export interface PlannedVersion {
  number: number;
  legacyId: string;
  definition: Record<string, unknown>;
  keptKeys: string[];
  note: string | null;
  createdAt: Date | null;
  attributes: TypedAttribute[];
}

export interface PlannedReference {
  legacyId: string;
  label: string;
  kind: ReferenceKind;
  imagePath: string;
  createdAt: Date | null;
}

export interface CharacterPlan {
  legacyId: string;
  slug: string;
  name: string;
  archivedAt: Date | null;
  createdAt: Date | null;
  currentVersion: number;
  versions: PlannedVersion[];
  references: PlannedReference[];
  warnings: string[];
}

const KINDS: Record<string, ReferenceKind> = {
  face: 'face', portrait: 'face', headshot: 'face',
  body: 'body', pose: 'body', full_body: 'body', fullbody: 'body',
  outfit: 'outfit', costume: 'outfit', clothing: 'outfit',
  style: 'style', art_style: 'style',
};

/**
 * What one legacy character becomes: versions renumbered 1..N in legacy order, definitions
 * mapped onto the schema, attributes typed. Touches neither database nor files.
 *
 * @throws Error when the character has no versions, more than a character may have, or a
 *   definition cannot be mapped.
 */
export function planCharacter(legacy: LegacyCharacter): CharacterPlan {
  const warnings: string[] = [];
  const label = `${legacy.name} (legacy:${legacy.id})`;
  if (!legacy.versions.length) throw new Error(`${label} has no versions`);
  if (legacy.versions.length > CHARACTER_LIMITS.versions) {
    throw new Error(`${label} has ${legacy.versions.length} versions: a character has at most ${CHARACTER_LIMITS.versions} versions`);
  }

  const ordered = [...legacy.versions].sort(
    (a, b) => (a.number ?? Infinity) - (b.number ?? Infinity) || (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0) || Number(a.id) - Number(b.id),
  );
  const versions = ordered.map((v, index): PlannedVersion => {
    let mapped;
    try {
      mapped = mapLegacyDefinition(v.definition, { name: legacy.name, description: legacy.description });
    } catch (error) {
      throw new Error(`${label} version ${v.number ?? v.id}: ${(error as Error).message}`);
    }
    return {
      number: index + 1,
      legacyId: v.id,
      definition: mapped.definition,
      keptKeys: mapped.keptKeys,
      note: v.note,
      createdAt: v.createdAt,
      attributes: typedAttributes(v.attributes, `${label} version ${index + 1}`, warnings),
    };
  });

  const current = ordered.map((v, i) => ({ v, number: i + 1 })).filter(({ v }) => v.isCurrent);
  if (current.length !== 1) {
    warnings.push(`${label}: ${current.length ? 'several versions are' : 'no version is'} marked current; the latest is taken`);
  }
  const currentVersion = current.length ? current[current.length - 1].number : versions.length;

  return {
    legacyId: `legacy:${legacy.id}`,
    slug: safeName(legacy.slug ?? legacy.name, `character-${legacy.id}`),
    name: bounded(legacy.name.trim() || `character ${legacy.id}`, `${label}: name`, warnings),
    archivedAt: legacy.archivedAt,
    createdAt: legacy.createdAt,
    currentVersion,
    versions,
    references: legacy.references.map((r) => ({
      legacyId: r.id,
      label: bounded(r.name.trim() || referenceLabelFallback(r.imagePath), `${label}: reference label`, warnings),
      kind: KINDS[(r.type ?? '').trim().toLowerCase()] ?? 'other',
      imagePath: r.imagePath,
      createdAt: r.createdAt,
    })),
    warnings,
  };
}

/**
 * Names and labels as the API bounds them (1 to NAME_MAX characters), so that what the import
 * writes can also leave in a bundle and come back: an empty legacy label once made an export
 * that no import would take.
 */
const NAME_MAX = 200;

function bounded(text: string, what: string, warnings: string[]): string {
  if (text.length <= NAME_MAX) return text;
  warnings.push(`${what} is ${text.length} characters; cut to ${NAME_MAX}`);
  // Never split a surrogate pair: a lone half cannot be stored.
  return text.slice(0, NAME_MAX).replace(/[\uD800-\uDBFF]$/, '');
}

/** An unnamed legacy reference is labelled after its image file, else plainly "reference". */
function referenceLabelFallback(imagePath: string): string {
  return (imagePath.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '').trim() || 'reference';
}

function typedAttributes(rows: LegacyCharacter['versions'][number]['attributes'], where: string, warnings: string[]): TypedAttribute[] {
  const byKey = new Map<string, TypedAttribute>();
  for (const row of rows) {
    if (row.value === null) {
      warnings.push(`${where}: attribute ${row.name} has no value; skipped`);
      continue;
    }
    const { problem, ...attribute } = mapAttribute(row.name, row.value, row.type);
    if (problem) warnings.push(`${where}: attribute ${row.name}: ${problem}; kept as text`);
    if (byKey.has(attribute.key)) warnings.push(`${where}: attribute ${attribute.key} appears twice; the last one is kept`);
    byKey.set(attribute.key, attribute);
  }
  return [...byKey.values()];
}
