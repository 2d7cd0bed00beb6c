import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { CharacterReference, Db } from '@anime/db';
import type { LibraryStorage } from '@anime/media';
import { recordReferenceFileFound, recordReferenceFileMissing } from '@anime/pipeline';
import { ApiError } from '../../http/api-error';

/** What reading a reference's file back found: its bytes as recorded, none, other bytes, or no answer (permissions, I/O). */
type FileState = 'intact' | 'gone' | 'altered' | 'unreadable';

/**
 * Reads back, hashing as it streams, every reference file a bundle will carry, and returns where
 * each lies. A file gone or altered is recorded missing, as the other paths that find it do; one
 * marked missing but read back with its sha256 is cleared. Any file not intact → 409
 * `bundle_incomplete` naming all of them (a bundle without them would be one its import refuses,
 * or one whose versions silently lost their images).
 */
export async function checkReferenceFiles(deps: { db: Db; storage: LibraryStorage }, references: CharacterReference[]): Promise<string[]> {
  const located: string[] = [];
  const lost: { id: string; label: string; sha256: string; reason: Exclude<FileState, 'intact'> }[] = [];
  // One at a time: each is read whole from disk, as the zip will read it again.
  for (const reference of references) {
    const state = await readBack(deps.storage, reference);
    if (state === 'intact') {
      if (reference.missing) await recordReferenceFileFound(deps.db, reference);
      located.push(deps.storage.locate(reference.path));
      continue;
    }
    if (state !== 'unreadable') await recordLost(deps, reference);
    lost.push({ id: reference.id, label: reference.label, sha256: reference.sha256, reason: state });
  }
  if (lost.length > 0) {
    const names = lost.map((r) => `${r.id} (${r.label}: ${r.reason})`).join(', ');
    throw new ApiError(409, 'bundle_incomplete', `the files of ${lost.length} reference(s) are missing from the library or no longer match their sha256: ${names}`, {
      referenceId: lost[0].id,
      references: lost,
    });
  }
  return located;
}

/**
 * Marks the reference missing; a file written back between the read and the mark (a re-upload, an
 * import, which found no mark to clear) is read again after it, so the mark does not outlive it.
 */
async function recordLost(deps: { db: Db; storage: LibraryStorage }, reference: CharacterReference): Promise<void> {
  if ((await recordReferenceFileMissing(deps.db, reference)) && (await readBack(deps.storage, reference)) === 'intact') await recordReferenceFileFound(deps.db, reference);
}

async function readBack(storage: LibraryStorage, reference: CharacterReference): Promise<FileState> {
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(storage.locate(reference.path))) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      // A file grown past what was recorded is not these bytes: stop reading it.
      if (size > reference.bytes) return 'altered';
    }
    return size === reference.bytes && hash.digest('hex') === reference.sha256 ? 'intact' : 'altered';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a file where a folder of its path goes. EISDIR: a folder where the file goes.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'gone';
    if (code === 'EISDIR') return 'altered';
    return 'unreadable';
  }
}
