import { referenceFilePath } from '@anime/character';
import type { Character, CharacterReference, Db, ReferenceKind } from '@anime/db';
import { sha256Hex, sniffImage, type LibraryStorage } from '@anime/media';
import { ApiError } from '../http/api-error';
import { isUniqueViolation } from './unique-violation';

const ACCEPTED_MIME = ['image/png', 'image/jpeg', 'image/webp'];

export interface AttachReferenceInput {
  bytes: Buffer;
  label: string;
  kind: ReferenceKind;
}

export interface AttachedReference {
  reference: CharacterReference;
  /** False when the character already had these exact bytes attached. */
  created: boolean;
}

/**
 * Attaches an image to a character. The type comes from the bytes, never from the file name or
 * the client's content type. The same bytes twice give back the reference already there; bytes
 * once detached are attached again under the new label and kind.
 */
export async function attachReference(deps: { db: Db; storage: LibraryStorage }, character: Character, input: AttachReferenceInput): Promise<AttachedReference> {
  const image = sniffImage(input.bytes);
  if (!ACCEPTED_MIME.includes(image.mime)) {
    throw new ApiError(415, 'unsupported_media_type', 'a reference must be a PNG, JPEG or WebP image (recognised from its bytes)', { accepted: ACCEPTED_MIME });
  }
  const sha256 = sha256Hex(input.bytes);
  const key = { characterId_sha256: { characterId: character.id, sha256 } };
  const existing = await deps.db.characterReference.findUnique({ where: key });
  if (existing && !existing.detachedAt) return { reference: existing, created: false };

  const path = existing?.path ?? referenceFilePath({ characterSlug: character.slug, sha256, label: input.label, extension: image.extension });
  // The name carries the hash, so a file already there with the right hash is these very bytes.
  if ((await deps.storage.sha256(path)) !== sha256) await deps.storage.write(path, input.bytes);

  if (existing) {
    const reference = await deps.db.characterReference.update({
      where: { id: existing.id },
      data: { detachedAt: null, label: input.label, kind: input.kind },
    });
    return { reference, created: true };
  }
  try {
    const reference = await deps.db.characterReference.create({
      data: { characterId: character.id, label: input.label, kind: input.kind, path, sha256, bytes: input.bytes.length, width: image.width, height: image.height, mime: image.mime },
    });
    return { reference, created: true };
  } catch (error) {
    // A concurrent upload of the same bytes won the race: answer with its row.
    if (isUniqueViolation(error)) return { reference: await deps.db.characterReference.findUniqueOrThrow({ where: key }), created: false };
    throw error;
  }
}
