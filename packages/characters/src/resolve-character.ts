import { parseCharacterRef } from '@anime/contracts';
import { literalLikePattern, type Character, type CharacterAttribute, type CharacterReference, type CharacterVersion, type Db } from '@anime/db';
import { characterArchived, characterNotFound, CharacterDomainError } from './character-domain-error';
import { findByIdOrSlug } from './find-character';

/** Version numbers are PostgreSQL integers (int4). */
const MAX_VERSION_NUMBER = 2_147_483_647;

export type ResolvedVersion = CharacterVersion & {
  attributes: CharacterAttribute[];
  /**
   * The reference images a generation uses, oldest first: for a pinned `slug@N` the ones version N
   * was created with (so it reproduces exactly); otherwise the ones attached to the character now.
   */
  references: CharacterReference[];
};

export interface ResolvedCharacter {
  character: Character;
  version: ResolvedVersion;
}

/**
 * Finds a character by slug, id, display name (case-insensitive) or `slug@N`, and the version
 * asked for (else its current one) with that version's attributes. References: a pinned version's
 * own; unpinned, the character's references as attached right now, so an image just uploaded
 * (or detached) counts at once without a new version.
 *
 * @throws CharacterDomainError `character_not_found` (404), `character_ambiguous` (409: a name
 *   shared by several characters), `character_archived` (409), `version_not_found` (404).
 */
export async function resolveCharacter(db: Db, ref: string): Promise<ResolvedCharacter> {
  const { key, version: wanted } = parseCharacterRef(ref);
  const character = await findCharacter(db, key);
  if (character.archivedAt) {
    throw characterArchived(character.slug);
  }
  const number = wanted ?? character.currentVersion;
  // A number past the column's int4 is no version this character can have; asking the database would throw.
  const version = number > MAX_VERSION_NUMBER ? null : await db.characterVersion.findUnique({
    where: { characterId_number: { characterId: character.id, number } },
    include: { attributes: { orderBy: { key: 'asc' } } },
  });
  if (!version) {
    throw new CharacterDomainError('version_not_found', `character ${character.slug} has no version ${number}`, {
      slug: character.slug,
      version: number,
    });
  }
  const references = await db.characterReference.findMany({
    where: wanted === undefined ? { characterId: character.id, detachedAt: null } : { versions: { some: { versionId: version.id } } },
  });
  references.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.label.localeCompare(b.label));
  return { character, version: { ...version, references } };
}

async function findCharacter(db: Db, key: string): Promise<Character> {
  const byIdOrSlug = await findByIdOrSlug(db, key);
  if (byIdOrSlug) return byIdOrSlug;
  if (!key) throw characterNotFound(key);
  // Insensitive `equals` is an ILIKE: the name is matched as written, not as a pattern.
  const byName = await db.character.findMany({ where: { name: { equals: literalLikePattern(key), mode: 'insensitive' } }, take: 10 });
  // An archived namesake should not make a live character unreachable by name.
  const live = byName.filter((c) => !c.archivedAt);
  const candidates = live.length ? live : byName;
  if (candidates.length === 1) return candidates[0];
  if (candidates.length > 1) {
    throw new CharacterDomainError('character_ambiguous', `several characters are named "${key}"; use a slug`, {
      slugs: candidates.map((c) => c.slug),
    });
  }
  throw characterNotFound(key);
}
