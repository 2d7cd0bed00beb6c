import { CHARACTER_LIMITS } from '@anime/contracts';
import type { Db } from '@anime/db';
import { CharacterDomainError } from './character-domain-error';
import type { Tx } from './transaction';

/** What a writer is about to add to a character's references. */
export interface ReferenceGrowth {
  /** References that will be attached and were not (new ones attached, detached ones attached again). */
  attached: number;
  /** Reference rows that will be created (re-attaching creates none). */
  stored: number;
}

/**
 * Refuses references a character has no room for: at most `attachedReferences` attached at once
 * (each conditions every job of the character: an upload to its backend and a LoadImage node) and
 * `storedReferences` in all, detached ones included (a bundle carries them all). Callers check once
 * before writing any file, and again inside their transaction with the character locked.
 *
 * @throws CharacterDomainError `too_many_references` (409) naming the limit.
 */
export async function assertRoomForReferences(db: Db | Tx, character: { id: string; slug: string }, growth: ReferenceGrowth): Promise<void> {
  if (growth.attached > 0) {
    const attached = await db.characterReference.count({ where: { characterId: character.id, detachedAt: null } });
    const max = CHARACTER_LIMITS.attachedReferences;
    if (attached + growth.attached > max) {
      throw new CharacterDomainError(
        'too_many_references',
        `character ${character.slug} has ${attached} references attached and this would attach ${growth.attached} more: at most ${max} references may be attached to a character at once; detach one first`,
        { slug: character.slug, limit: 'attachedReferences', max, attached },
      );
    }
  }
  if (growth.stored > 0) {
    const stored = await db.characterReference.count({ where: { characterId: character.id } });
    const max = CHARACTER_LIMITS.storedReferences;
    if (stored + growth.stored > max) {
      throw new CharacterDomainError(
        'too_many_references',
        `character ${character.slug} holds ${stored} reference images, detached ones included, and this would add ${growth.stored} more: at most ${max} reference images per character`,
        { slug: character.slug, limit: 'storedReferences', max, stored },
      );
    }
  }
}

/**
 * Refuses a version past `versions` per character (a bundle carries them all).
 *
 * @throws CharacterDomainError `too_many_versions` (409) naming the limit.
 */
export function assertRoomForVersion(character: { slug: string }, number: number): void {
  const max = CHARACTER_LIMITS.versions;
  if (number > max) {
    throw new CharacterDomainError('too_many_versions', `character ${character.slug} has ${max} versions: at most ${max} versions per character`, {
      slug: character.slug,
      limit: 'versions',
      max,
    });
  }
}

/**
 * The references a version is made with: at most `attachedReferences`, as a version made from the
 * attached ones has. The last line of the writers that give their own list (bundle and legacy imports).
 *
 * @throws CharacterDomainError `too_many_references` (409) naming the limit.
 */
export function assertVersionReferences(character: { slug: string }, count: number): void {
  const max = CHARACTER_LIMITS.attachedReferences;
  if (count > max) {
    throw new CharacterDomainError('too_many_references', `a version of character ${character.slug} would be made with ${count} references: at most ${max} references per version`, {
      slug: character.slug,
      limit: 'attachedReferences',
      max,
    });
  }
}
