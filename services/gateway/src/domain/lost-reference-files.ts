import type { CharacterReference, Db } from '@anime/db';
import { answeredWithin, libraryReadTimeoutMs, type LibraryStorage } from '@anime/media';
import { recordReferenceFileFound, recordReferenceFileMissing, within } from '@anime/pipeline';

/** How long one look at a reference's file (a stat) may take before it is taken as no answer. */
export const REFERENCE_LOOK_TIMEOUT_MS = 2_000;

/**
 * Whether a reference's file is lost, at the cost of one stat: nothing (or no file) at its path, or
 * a file of another size than recorded, was deleted or altered. A file of the right size is taken as
 * present; only reading it tells a same-size alteration, which the orchestrator does before every job
 * and a bundle export before packing it. A stat that fails otherwise (permissions, I/O, a path
 * outside the library) says nothing of the file: not lost. Nor does one that has not answered within
 * REFERENCE_LOOK_TIMEOUT_MS (a hung mount): the request goes on without it (the stat itself, which
 * nothing can cancel, keeps its libuv thread until the file system answers), and until it answers a
 * look at the same file queues no other stat and says nothing at once.
 */
export async function isReferenceFileLost(storage: LibraryStorage, reference: CharacterReference): Promise<boolean> {
  // A look at this file still unanswered past the timeout: no answer now either, and no stat queued
  // behind it (each request queued one per reference for as long as the mount hung, and waited again).
  if (unansweredLooks.get(storage)?.has(reference.path)) return false;
  const look = storage.version(reference.path).then(
    (now) => now === null || now.bytes !== reference.bytes,
    (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOTDIR',
  );
  const lost = await within(look, REFERENCE_LOOK_TIMEOUT_MS);
  if (lost !== undefined) return lost;
  let unanswered = unansweredLooks.get(storage);
  if (!unanswered) unansweredLooks.set(storage, (unanswered = new Set()));
  const hung = unanswered.add(reference.path);
  void look.finally(() => hung.delete(reference.path));
  return false;
}

/** Per library, the paths whose last look has not answered within REFERENCE_LOOK_TIMEOUT_MS, until it does. */
const unansweredLooks = new WeakMap<LibraryStorage, Set<string>>();

/**
 * The references as the library holds them now: one not yet marked missing whose file is lost
 * (isReferenceFileLost) is recorded missing and returned so. One stat per reference, all at once: a
 * character has at most CHARACTER_LIMITS.attachedReferences (50) attached. A mark is cleared only where the bytes are read (an upload of
 * the same image, the orchestrator staging it), never by a stat.
 */
export async function noticeLostReferenceFiles(deps: { db: Db; storage: LibraryStorage }, references: CharacterReference[]): Promise<CharacterReference[]> {
  return Promise.all(
    references.map(async (reference) => {
      if (reference.missing || !(await isReferenceFileLost(deps.storage, reference))) return reference;
      return (await recordLostReferenceFile(deps, reference)) ? { ...reference, missing: true } : reference;
    }),
  );
}

/**
 * Records a reference whose file was found lost missing, unless the file is back once the mark is
 * set: a re-upload that wrote it between the look and the mark found no mark to clear, and a mark
 * left set would stay (the file route answers 410 on it without looking) until another upload or a
 * staging. The file looked at again after the mark, so a write landing before it is seen and one
 * landing after it is followed by the upload's own clearing. Whether the reference is missing now.
 */
export async function recordLostReferenceFile(deps: { db: Db; storage: LibraryStorage }, reference: CharacterReference): Promise<boolean> {
  if (!(await recordReferenceFileMissing(deps.db, reference))) return true;
  if (await isReferenceFileLost(deps.storage, reference)) return true;
  await recordReferenceFileFound(deps.db, reference);
  return false;
}

/**
 * Whether a reference marked missing has its file back as recorded: its size, then its sha256 (read
 * only at the recorded size, which its upload bounded). Found so, the mark is cleared: one set while
 * the library was away (a volume not mounted answers every stat with nothing) or by a look racing a
 * re-upload does not keep the file from being served until the image is uploaded again. A read of it
 * that has not answered within libraryReadTimeoutMs of the recorded size (a hung mount) throws
 * LibraryNotAnsweringError, the mark kept: nothing tells whether the file is back (a download answers
 * 503 library_unreadable, ETIMEDOUT); a read that fails otherwise is a file not back.
 */
export async function recordReferenceFileBack(deps: { db: Db; storage: LibraryStorage }, reference: CharacterReference): Promise<boolean> {
  if (await isReferenceFileLost(deps.storage, reference)) return false;
  const read = deps.storage.sha256(reference.path).catch(() => null);
  if ((await answeredWithin(read, reference.path, libraryReadTimeoutMs(reference.bytes))) !== reference.sha256) return false;
  await recordReferenceFileFound(deps.db, reference);
  return true;
}
