import { readFile } from 'node:fs/promises';
import { LocalLibraryStorage, sha256Hex, sniffImage } from '@anime/media';
import { referenceFilePath } from '../domain/reference-file-path';
import type { ReferenceRow } from './write-character';

/** A found file carries the reference row's file fields; `path` is relative to the library, with forward slashes. */
export type StoredReferenceFile =
  | (Pick<ReferenceRow, 'path' | 'sha256' | 'bytes' | 'width' | 'height' | 'mime'> & {
      found: true;
      /** The bytes were not in the library yet: written now, or on a dry run, would be. */
      isNew: boolean;
    })
  | { found: false; sourcePath: string; reason: string };

export interface StoreReferenceFileInput {
  sourcePath: string;
  libraryDir: string;
  characterSlug: string;
  label: string;
  dryRun: boolean;
}

/**
 * Copies one reference image into the library at the path every reference gets
 * (`referenceFilePath`), written atomically through the library storage.
 */
export async function storeReferenceFile(input: StoreReferenceFileInput): Promise<StoredReferenceFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(input.sourcePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { found: false, sourcePath: input.sourcePath, reason: code === 'ENOENT' ? 'no such file' : `unreadable (${code ?? 'error'})` };
  }
  const sha256 = sha256Hex(bytes);
  const image = sniffImage(bytes);
  const relative = referenceFilePath({ characterSlug: input.characterSlug, sha256, label: input.label, extension: image.extension });
  const stored = { found: true as const, path: relative, sha256, bytes: bytes.length, width: image.width, height: image.height, mime: image.mime };

  const storage = new LocalLibraryStorage(input.libraryDir);
  // The name carries the hash, so a file already there with the right hash is these very bytes.
  if ((await storage.sha256(relative)) === sha256) return { ...stored, isNew: false };
  if (input.dryRun) return { ...stored, isNew: true };
  await storage.write(relative, bytes);
  return { ...stored, isNew: true };
}
