import { readFile } from 'node:fs/promises';
import { storeReferenceFile } from '@anime/characters';
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
    if (known.has(reference.meta.sha256)) continue;
    // One image in memory at a time, at most REFERENCE_MAX_BYTES: the bundle's own limit per entry.
    const bytes = await readFile(reference.path);
    const file = await storeReferenceFile(deps.storage, { bytes, characterSlug: target.slug, label: reference.meta.label, decoded: reference.decoded });
    paths.set(file.sha256, file.path);
  }
  return paths;
}
