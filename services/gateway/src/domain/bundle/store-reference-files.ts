import { referenceFilePath } from '@anime/character';
import type { Db } from '@anime/db';
import type { LibraryStorage } from '@anime/media';
import type { ParsedReference } from './parse-bundle';
import type { ImportTarget } from './resolve-import-target';

/**
 * Writes the images the target character lacks, where an upload would put them, and returns
 * their library paths by sha256. Files go first and rows after, so a row never points at a file
 * not yet there; a file whose row then fails is harmless, as its name carries its hash.
 */
export async function storeReferenceFiles(deps: { db: Db; storage: LibraryStorage }, target: ImportTarget, references: ParsedReference[]): Promise<Map<string, string>> {
  const known =
    target.kind === 'merge'
      ? new Set((await deps.db.characterReference.findMany({ where: { characterId: target.id }, select: { sha256: true } })).map((r) => r.sha256))
      : new Set<string>();
  const paths = new Map<string, string>();
  for (const reference of references) {
    const { sha256, label } = reference.meta;
    if (known.has(sha256)) continue;
    const path = referenceFilePath({ characterSlug: target.slug, sha256, label, extension: reference.extension });
    if ((await deps.storage.sha256(path)) !== sha256) await deps.storage.write(path, reference.data);
    paths.set(sha256, path);
  }
  return paths;
}
