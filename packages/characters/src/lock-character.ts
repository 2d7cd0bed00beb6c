import { characterArchived, characterNotFound } from './character-domain-error';
import type { Tx } from './transaction';

/**
 * Locks a character's row (SELECT … FOR UPDATE) until the caller's transaction ends, so writers
 * of its versions and references queue behind each other instead of racing for numbers.
 *
 * @throws CharacterDomainError `character_archived` when the character is archived (archiving may
 *   have happened after the caller looked it up), unless `allowArchived`; `character_not_found`.
 */
export async function lockCharacter(tx: Tx, characterId: string, options: { allowArchived?: boolean } = {}): Promise<{ id: string; slug: string }> {
  const [locked] = await tx.$queryRaw<{ slug: string; archivedAt: Date | null }[]>`
    SELECT "slug", "archivedAt" FROM "characters" WHERE "id" = ${characterId}::uuid FOR UPDATE`;
  if (!locked) throw characterNotFound(characterId);
  if (locked.archivedAt && !options.allowArchived) throw characterArchived(locked.slug);
  return { id: characterId, slug: locked.slug };
}
