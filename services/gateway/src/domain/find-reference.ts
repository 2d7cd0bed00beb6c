import { isUuidText } from '@anime/contracts';
import type { CharacterReference, Db } from '@anime/db';
import { ApiError } from '../http/api-error';

/** A reference still attached to the character; detached ones are hidden from it. */
export async function findAttachedReferenceOr404(db: Db, characterId: string, referenceId: string): Promise<CharacterReference> {
  const reference = isUuidText(referenceId) ? await db.characterReference.findFirst({ where: { id: referenceId, characterId, detachedAt: null } }) : null;
  if (!reference) throw new ApiError(404, 'reference_not_found', `the character has no reference ${referenceId}`, { referenceId });
  return reference;
}
