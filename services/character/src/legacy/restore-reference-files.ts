import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '@anime/db';
import { LocalLibraryStorage, sha256Hex } from '@anime/media';
import type { CharacterPlan } from './plan-character';

export interface RestoreOptions {
  libraryDir: string;
  imagesRoot?: string;
  dryRun?: boolean;
}

/**
 * For a character imported before: puts back, from the legacy images, any reference file that is
 * gone from the library (a new checkout, a wiped LIBRARY_DIR) at the path its row records. Rows
 * are not touched; files already there with the recorded sha256 are left alone. Returns the
 * library paths restored (on a dry run: that would be).
 */
export async function restoreReferenceFiles(db: Db, characterId: string, plan: CharacterPlan, options: RestoreOptions): Promise<string[]> {
  const storage = new LocalLibraryStorage(options.libraryDir);
  const root = options.imagesRoot ?? process.cwd();
  const restored: string[] = [];
  for (const reference of plan.references) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path.resolve(root, reference.imagePath));
    } catch {
      continue; // reported as missing by the import that created the row
    }
    const sha256 = sha256Hex(bytes);
    const row = await db.characterReference.findUnique({ where: { characterId_sha256: { characterId, sha256 } } });
    if (!row || (await storage.sha256(row.path)) === sha256) continue;
    if (!options.dryRun) await storage.write(row.path, bytes);
    restored.push(row.path);
  }
  return restored;
}
