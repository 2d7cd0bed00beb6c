import { isUniqueViolation } from '@anime/characters';
import type { Db } from '@anime/db';
import type { LibraryStorage } from '@anime/media';
import { ApiError } from '../../http/api-error';
import { assertRoomForBundle } from './bundle-room';
import type { ParsedBundle } from './parse-bundle';
import { resolveImportTarget } from './resolve-import-target';
import { storeReferenceFiles } from './store-reference-files';
import { writeBundleRows } from './write-bundle-rows';

export interface ImportResult {
  characterId: string;
  /** A new character was made. */
  created: boolean;
  /** The numbers the imported versions got here, oldest first. */
  versionsAdded: number[];
  referencesAdded: number;
  /** References the character had whose library file was gone or altered, written back from the bundle. */
  referencesRestored: number;
}

/**
 * Imports a bundle already checked whole by parseBundle. Importing the same bundle again finds
 * every version's content and every image already there, and writes nothing, unless an image's
 * library file was gone or altered meanwhile: that one is written back and its missing mark cleared.
 */
export async function importBundle(deps: { db: Db; storage: LibraryStorage }, bundle: ParsedBundle, options: { as?: string } = {}): Promise<ImportResult> {
  const target = await resolveImportTarget(deps.db, bundle, options.as);
  // Before any file is written; checked again with the character locked.
  await assertRoomForBundle(deps.db, target, bundle);
  const files = await storeReferenceFiles(deps, target, bundle.references);
  try {
    const written = await deps.db.$transaction((tx) => writeBundleRows(tx, target, bundle, files.paths), { maxWait: 10_000, timeout: 60_000 });
    return { characterId: target.id, created: target.kind === 'create', ...written, referencesRestored: files.restored };
  } catch (error) {
    // Another request took the id or the slug between the check and the insert.
    if (isUniqueViolation(error)) {
      throw new ApiError(409, 'import_conflict', `character ${target.slug} was created by another request meanwhile; send the bundle again`, { slug: target.slug });
    }
    throw error;
  }
}
