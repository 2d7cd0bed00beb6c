import { isStorableText } from '@anime/contracts';
import type { Character, Db } from '@anime/db';
import { CharacterDomainError } from './character-domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A character by id or slug, archived ones included (routes decide what archived means). */
export async function findCharacterOr404(db: Db, idOrSlug: string): Promise<Character> {
  // PostgreSQL would answer NUL or a lone surrogate with an error; such a key names nothing anyway.
  const character = isStorableText(idOrSlug)
    ? ((UUID.test(idOrSlug) ? await db.character.findUnique({ where: { id: idOrSlug } }) : null) ??
      (await db.character.findUnique({ where: { slug: idOrSlug } })))
    : null;
  if (!character) throw new CharacterDomainError('character_not_found', `no character matches "${idOrSlug}"`, { ref: idOrSlug });
  return character;
}

/** As findCharacterOr404, refusing archived characters: they are kept for history, not changed. */
export async function findLiveCharacterOr404(db: Db, idOrSlug: string): Promise<Character> {
  const character = await findCharacterOr404(db, idOrSlug);
  if (character.archivedAt) {
    throw new CharacterDomainError('character_archived', `character ${character.slug} is archived`, { slug: character.slug });
  }
  return character;
}
