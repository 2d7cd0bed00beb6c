import { characterByIdOrSlug } from '@anime/characters';
import type { Db } from '@anime/db';

/**
 * The character versions a list's filter names: version `number` of the character `idOrSlug` (either
 * may be left out: every version of that character, or that number of every character). None when
 * nothing matches, so the list is empty, as for an unknown slug.
 */
export async function characterVersionsNamed(db: Db, idOrSlug: string | undefined, number: number | undefined): Promise<{ id: string; characterId: string }[]> {
  return db.characterVersion.findMany({
    where: {
      ...(number !== undefined ? { number } : {}),
      ...(idOrSlug !== undefined ? { character: characterByIdOrSlug(idOrSlug) } : {}),
    },
    select: { id: true, characterId: true },
  });
}
