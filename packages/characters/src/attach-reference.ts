import type { Character, CharacterReference, Db, ReferenceKind } from '@anime/db';
import { sha256Hex, type LibraryStorage } from '@anime/media';
import { assertRoomForReferences } from './character-capacity';
import { lockCharacter } from './lock-character';
import { storeReferenceFile } from './store-reference-file';

/** The image types a reference may have, judged from its bytes (see sniffImage). */
export const REFERENCE_IMAGE_MIMES: readonly string[] = ['image/png', 'image/jpeg', 'image/webp'];

export interface AttachReferenceInput {
  /** An image of one of REFERENCE_IMAGE_MIMES; the caller refuses anything else first. */
  bytes: Buffer;
  label: string;
  kind: ReferenceKind;
  /** The image as decoded whole by the caller (decodeImage): its type and size are recorded. */
  decoded?: { mime: string; extension: string; width: number; height: number };
}

export interface AttachedReference {
  reference: CharacterReference;
  /** False when the character already had these exact bytes attached. */
  created: boolean;
}

/**
 * Attaches an image to a character. The same bytes twice give back the reference already there;
 * bytes once detached are attached again under the new label and kind, at the file they had. Either
 * way the file is written back when it is gone or altered, and a reference marked missing is cleared.
 * The character must have room (assertRoomForReferences): checked before the file is written, and
 * again with the character locked, so concurrent uploads cannot pass the limit together.
 *
 * @throws CharacterDomainError `too_many_references` (409) when the character has no room;
 *   `character_archived` when it was archived meanwhile.
 */
export async function attachReference(deps: { db: Db; storage: LibraryStorage }, character: Character, input: AttachReferenceInput): Promise<AttachedReference> {
  const key = { characterId_sha256: { characterId: character.id, sha256: sha256Hex(input.bytes) } };
  const existing = await deps.db.characterReference.findUnique({ where: key });
  if (existing && !existing.detachedAt) return { reference: await restoreFile(deps, character, existing, input), created: false };
  const growth = { attached: 1, stored: existing ? 0 : 1 };
  await assertRoomForReferences(deps.db, character, growth);

  const { isNew: _isNew, ...file } = await storeReferenceFile(deps.storage, { bytes: input.bytes, characterSlug: character.slug, label: input.label, path: existing?.path, decoded: input.decoded });
  return deps.db.$transaction(
    async (tx) => {
      await lockCharacter(tx, character.id);
      // Read again under the lock: a concurrent upload of the same bytes may have attached them.
      const current = await tx.characterReference.findUnique({ where: key });
      if (current && !current.detachedAt) return { reference: current, created: false };
      await assertRoomForReferences(tx, character, { attached: 1, stored: current ? 0 : 1 });
      const reference = current
        ? await tx.characterReference.update({ where: { id: current.id }, data: { detachedAt: null, label: input.label, kind: input.kind, missing: false } })
        : await tx.characterReference.create({ data: { characterId: character.id, label: input.label, kind: input.kind, ...file } });
      return { reference, created: true };
    },
    // Waiting for the row lock counts against the timeout; a burst of uploads must not expire.
    { maxWait: 10_000, timeout: 30_000 },
  );
}

/**
 * The reference already attached, its file written again when it is gone or no longer has these
 * bytes (storeReferenceFile hashes what is there), and its missing mark cleared once the file is
 * there: uploading the image again is how a studio repairs a reference found missing.
 */
async function restoreFile(deps: { db: Db; storage: LibraryStorage }, character: Character, existing: CharacterReference, input: AttachReferenceInput): Promise<CharacterReference> {
  await storeReferenceFile(deps.storage, { bytes: input.bytes, characterSlug: character.slug, label: input.label, path: existing.path, decoded: input.decoded });
  // Cleared whatever the row said when read: a look that found the file gone may have marked it
  // since, before the write above put the file back (a guarded UPDATE, matching nothing when unmarked).
  await deps.db.characterReference.updateMany({ where: { id: existing.id, sha256: existing.sha256, missing: true }, data: { missing: false } });
  return { ...existing, missing: false };
}
