import { assertRoomForReferences, type Tx } from '@anime/characters';
import type { Db } from '@anime/db';
import type { ParsedBundle } from './parse-bundle';
import type { ImportTarget } from './resolve-import-target';

/**
 * Refuses a merge that would leave the character with more references than it may hold: the
 * bundle's images it lacks, counted as attached where the bundle has them attached. A new
 * character is the bundle's own, whose counts parseBundle checked.
 *
 * @throws CharacterDomainError `too_many_references` (409) naming the limit.
 */
export async function assertRoomForBundle(db: Db | Tx, target: ImportTarget, bundle: Pick<ParsedBundle, 'references'>): Promise<void> {
  if (target.kind !== 'merge') return;
  const known = new Set((await db.characterReference.findMany({ where: { characterId: target.id }, select: { sha256: true } })).map((r) => r.sha256));
  const added = bundle.references.filter((r) => !known.has(r.meta.sha256));
  await assertRoomForReferences(db, target, { attached: added.filter((r) => !r.meta.detached).length, stored: added.length });
}
