import { answeredWithin, LIBRARY_READ_BASE_MS, libraryReadTimeoutMs, LibraryNotAnsweringError, sha256Hex, sniffImage, type LibraryStorage } from '@anime/media';
import { referenceFilePath } from './reference-file-path';

export interface StoreReferenceFileInput {
  bytes: Buffer;
  characterSlug: string;
  label: string;
  /** The path a reference row already records for these bytes (re-attaching, restoring); else the one every new reference gets. */
  path?: string;
  /** Work everything out and report whether the file is missing, but write nothing. */
  dryRun?: boolean;
  /** What a full decode found (decodeImage): recorded instead of what the header bytes claim. */
  decoded?: { mime: string; extension: string; width: number; height: number };
}

/** The facts a reference row records about its file; `path` is relative to the library, with forward slashes. */
export interface ReferenceFileFacts {
  path: string;
  sha256: string;
  bytes: number;
  width: number | null;
  height: number | null;
  mime: string;
}

export interface StoredReferenceFile extends ReferenceFileFacts {
  /** The bytes were not in the library yet: written now, or on a dry run, would be. */
  isNew: boolean;
}

/**
 * The one way a reference image enters the library: hashed, its type and size taken from the
 * bytes (never from a file name), written atomically at `referenceFilePath(...)`. Whether the
 * image type is acceptable, and decoding it whole, is the caller's work, done before; the legacy
 * importer keeps images no decoder would take, so the header's word is the fallback.
 */
export async function storeReferenceFile(storage: LibraryStorage, input: StoreReferenceFileInput): Promise<StoredReferenceFile> {
  const sha256 = sha256Hex(input.bytes);
  const image = input.decoded ?? sniffImage(input.bytes);
  const path = input.path ?? referenceFilePath({ characterSlug: input.characterSlug, sha256, label: input.label, extension: image.extension });
  const facts = { path, sha256, bytes: input.bytes.length, width: image.width, height: image.height, mime: image.mime };
  // The name carries the hash, so a file already there with the right hash is these very bytes.
  if ((await hashThere(storage, path, input.bytes.length)) === sha256) return { ...facts, isNew: false };
  if (!input.dryRun) await storage.write(path, input.bytes);
  return { ...facts, isNew: true };
}

/**
 * The sha256 of what the library holds at `path`, or null when it holds no readable file there: none,
 * a folder (EISDIR), or a file this process may not read (EACCES, EPERM, an I/O error); or null, unread,
 * when the regular file there is not of the size being stored (its stat first, one call): it cannot hold these
 * bytes, and hashing a larger one whole (a file gigabytes long standing there) would run past the
 * bound below, answering 503 library_unavailable for a library that works. A read refused
 * says nothing of the library taking writes, so it is no outage of its own: the bytes are written over
 * it as over a missing file, and the write alone says whether the library refuses them (a folder
 * standing there, a volume full or read-only: the caller's library_unavailable). Only file-system
 * errors are taken so; any other (a path outside the library) is thrown. A read that has not answered
 * within libraryReadTimeoutMs of the size being stored (only a file of that size can hold these
 * bytes; a hung mount) throws LibraryNotAnsweringError: nothing is written (the write would hang as
 * well), and the gateway answers the upload 503 library_unavailable, ETIMEDOUT.
 */
async function hashThere(storage: LibraryStorage, path: string, bytes: number): Promise<string | null> {
  try {
    const there = await answeredWithin(storage.version(path), path, LIBRARY_READ_BASE_MS);
    // No regular file there (none, a folder, a FIFO): hashed as before, which says which.
    if (there && there.bytes !== bytes) return null;
    return await answeredWithin(storage.sha256(path), path, libraryReadTimeoutMs(bytes));
  } catch (error) {
    if (error instanceof LibraryNotAnsweringError) throw error;
    if (typeof (error as NodeJS.ErrnoException | null)?.code === 'string') return null;
    throw error;
  }
}
