import { isUuidText } from '@anime/contracts';
import type { Db } from '@anime/db';

/** The reference row a library file belongs to: its id, and the sha256 its file must have. */
export interface ReferenceFileOwner {
  id: string;
  sha256: string;
}

/**
 * Records that a reference's file is gone from the library or no longer has its sha256, by whoever
 * found it out (the orchestrator staging it, the gateway serving or listing it), so the character's
 * detail says `missing: true`. One guarded UPDATE, writing only when the mark changes.
 * @returns whether this call set the mark
 */
export async function recordReferenceFileMissing(db: Db, reference: ReferenceFileOwner): Promise<boolean> {
  if (!isUuidText(reference.id)) return false;
  const { count } = await db.characterReference.updateMany({ where: { id: reference.id, sha256: reference.sha256, missing: false }, data: { missing: true } });
  return count > 0;
}

/**
 * Records that a reference's file was read just now and has its sha256 again: clears the mark
 * recordReferenceFileMissing set. A legacy reference whose image never existed keeps its mark: its
 * placeholder hash is no file's.
 * @returns whether this call cleared the mark
 */
export async function recordReferenceFileFound(db: Db, reference: ReferenceFileOwner): Promise<boolean> {
  if (!isUuidText(reference.id)) return false;
  const { count } = await db.characterReference.updateMany({ where: { id: reference.id, sha256: reference.sha256, missing: true }, data: { missing: false } });
  return count > 0;
}
