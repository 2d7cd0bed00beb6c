import type { Character, CharacterReference, Db, ReferenceKind } from '@anime/db';
import { sha256Hex, type LibraryStorage } from '@anime/media';
import { storeReferenceFile } from './store-reference-file';
import { isUniqueViolation } from '@anime/db';

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
 * bytes once detached are attached again under the new label and kind, at the file they had.
 */
export async function attachReference(deps: { db: Db; storage: LibraryStorage }, character: Character, input: AttachReferenceInput): Promise<AttachedReference> {
  const key = { characterId_sha256: { characterId: character.id, sha256: sha256Hex(input.bytes) } };
  const existing = await deps.db.characterReference.findUnique({ where: key });
  if (existing && !existing.detachedAt) return { reference: existing, created: false };

  const { isNew: _isNew, ...file } = await storeReferenceFile(deps.storage, { bytes: input.bytes, characterSlug: character.slug, label: input.label, path: existing?.path, decoded: input.decoded });
  if (existing) {
    const reference = await deps.db.characterReference.update({
      where: { id: existing.id },
      data: { detachedAt: null, label: input.label, kind: input.kind },
    });
    return { reference, created: true };
  }
  try {
    const reference = await deps.db.characterReference.create({ data: { characterId: character.id, label: input.label, kind: input.kind, ...file } });
    return { reference, created: true };
  } catch (error) {
    // A concurrent upload of the same bytes won the race: answer with its row.
    if (isUniqueViolation(error)) return { reference: await deps.db.characterReference.findUniqueOrThrow({ where: key }), created: false };
    throw error;
  }
}
