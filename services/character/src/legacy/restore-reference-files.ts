import path from 'node:path';
import { storeReferenceFile } from '@anime/characters';
import type { Db } from '@anime/db';
import { isOutsideLibrary, LocalLibraryStorage, sha256Hex } from '@anime/media';
import { recordReferenceFileFound } from '@anime/pipeline';
import type { CharacterPlan } from './plan-character';
import { readLegacyImage } from './read-legacy-image';

export interface RestoreOptions {
  libraryDir: string;
  imagesRoot?: string;
  dryRun?: boolean;
}

export interface RestoredReferenceFiles {
  /** The library paths restored (on a dry run: that would be). */
  restored: string[];
  /** The references left alone because their row records a path outside the library, one sentence each. */
  outsideLibrary: string[];
}

/**
 * For a character imported before: puts back, from the legacy images, any reference file that is
 * gone from the library (a new checkout, a wiped LIBRARY_DIR) at the path its row records; files
 * already there with the recorded sha256 are left alone. A row's `missing` mark (set by whoever found
 * the file gone meanwhile: the gateway, the orchestrator's staging) is cleared, the file now holding
 * its bytes; nothing else of a row is touched. A row recording a path outside the library (an old or
 * hand-edited one; the gateway's file route answers 409 reference_path_invalid for it, and its bundle
 * restore skips it) is left alone, its mark too, and named in `outsideLibrary`: nothing is written
 * there, and the character's other files are still put back.
 */
export async function restoreReferenceFiles(db: Db, character: { id: string; slug: string }, plan: CharacterPlan, options: RestoreOptions): Promise<RestoredReferenceFiles> {
  const storage = new LocalLibraryStorage(options.libraryDir);
  const root = options.imagesRoot ?? process.cwd();
  const result: RestoredReferenceFiles = { restored: [], outsideLibrary: [] };
  for (const reference of plan.references) {
    const image = await readLegacyImage(path.resolve(root, reference.imagePath));
    if (!image.found) continue; // reported as missing by the import that created the row
    const row = await db.characterReference.findUnique({ where: { characterId_sha256: { characterId: character.id, sha256: sha256Hex(image.bytes) } } });
    if (!row) continue;
    if (isOutsideLibrary(storage, row.path)) {
      result.outsideLibrary.push(`reference ${row.id} (${row.label}) of ${character.slug} records a path outside the library, ${JSON.stringify(row.path)}: its file is not restored`);
      continue;
    }
    const file = await storeReferenceFile(storage, { bytes: image.bytes, characterSlug: character.slug, label: row.label, path: row.path, dryRun: options.dryRun });
    if (file.isNew) result.restored.push(row.path);
    if (!options.dryRun) await recordReferenceFileFound(db, row);
  }
  return result;
}
