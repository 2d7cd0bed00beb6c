import { readFile } from 'node:fs/promises';
import { storeReferenceFile } from '@anime/characters';
import type { Db } from '@anime/db';
import type { LibraryStorage } from '@anime/media';
import type { ParsedReference } from './parse-bundle';
import type { ImportTarget } from './resolve-import-target';
import { restoreReferenceFiles } from './restore-reference-files';

export interface StoredReferenceFiles {
  /** The library path of each image the target lacked, by sha256. */
  paths: Map<string, string>;
  /** How many images the target had whose library file was gone or altered, written back from the bundle. */
  restored: number;
}

/**
 * Writes the images the target character lacks, where an upload would put them, and writes back
 * those it has whose file is gone or altered (restoreReferenceFiles). Files go first and rows after,
 * so a row never points at a file not yet there; a file whose row then fails is harmless, as its
 * name carries its hash.
 */
export async function storeReferenceFiles(deps: { db: Db; storage: LibraryStorage }, target: ImportTarget, references: ParsedReference[]): Promise<StoredReferenceFiles> {
  const rows = target.kind === 'merge' ? await deps.db.characterReference.findMany({ where: { characterId: target.id } }) : [];
  const known = new Set(rows.map((r) => r.sha256));
  const restored = await restoreReferenceFiles(deps, rows, references);
  const paths = new Map<string, string>();
  for (const reference of references) {
    if (known.has(reference.meta.sha256)) continue;
    // One image in memory at a time, at most REFERENCE_MAX_BYTES: the bundle's own limit per entry.
    const bytes = await readFile(reference.path);
    const file = await storeReferenceFile(deps.storage, { bytes, characterSlug: target.slug, label: reference.meta.label, decoded: reference.decoded });
    paths.set(file.sha256, file.path);
  }
  return { paths, restored };
}
