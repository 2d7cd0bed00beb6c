import { isStorableText, isUuidText } from '@anime/contracts';
import type { Character, Db, Prisma } from '@anime/db';
import { characterArchived, characterNotFound } from './character-domain-error';

/**
 * The characters a key names in a list's filter (`?character=`): the one of that slug, and the one
 * of that id when the key is shaped as an id (the uuid column takes nothing else), as findByIdOrSlug
 * reads a key.
 */
export const characterByIdOrSlug = (idOrSlug: string): Prisma.CharacterWhereInput => ({ OR: [{ slug: idOrSlug }, ...(isUuidText(idOrSlug) ? [{ id: idOrSlug }] : [])] });

/** A character by id, else by slug, archived ones included; null when neither matches. */
export async function findByIdOrSlug(db: Db, idOrSlug: string): Promise<Character | null> {
  // PostgreSQL would answer NUL or a lone surrogate with an error; such a key names nothing anyway.
  if (!idOrSlug || !isStorableText(idOrSlug)) return null;
  const byId = isUuidText(idOrSlug) ? await db.character.findUnique({ where: { id: idOrSlug } }) : null;
  return byId ?? (await db.character.findUnique({ where: { slug: idOrSlug } }));
}

/** A character by id or slug, archived ones included (routes decide what archived means). */
export async function findCharacterOr404(db: Db, idOrSlug: string): Promise<Character> {
  const character = await findByIdOrSlug(db, idOrSlug);
  if (!character) throw characterNotFound(idOrSlug);
  return character;
}

/** As findCharacterOr404, refusing archived characters: they are kept for history, not changed. */
export async function findLiveCharacterOr404(db: Db, idOrSlug: string): Promise<Character> {
  const character = await findCharacterOr404(db, idOrSlug);
  if (character.archivedAt) throw characterArchived(character.slug);
  return character;
}
