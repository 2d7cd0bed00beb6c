import type { Character, CharacterReference, Db } from '@anime/db';
import { sha256Hex, type LibraryStorage } from '@anime/media';
import { ApiError } from '../../http/api-error';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  CHARACTER_ENTRY,
  isBundleable,
  MANIFEST_ENTRY,
  referenceEntryName,
  type BundleCharacter,
  type BundleManifest,
} from './bundle-format';

export interface BundleFile {
  path: string;
  bytes: Buffer;
}

export interface CollectedBundle {
  /** The manifest first, then character.json, then the reference images. */
  files: BundleFile[];
  /** References left behind: marked missing, or of a type bundles do not carry. */
  omittedReferences: number;
}

/**
 * Everything a character's bundle holds, archived characters included: all versions with their
 * attributes and references, and each reference's bytes, checked against its recorded hash.
 */
export async function collectBundleFiles(deps: { db: Db; storage: LibraryStorage }, character: Character): Promise<CollectedBundle> {
  const [versions, references] = await Promise.all([
    deps.db.characterVersion.findMany({
      where: { characterId: character.id },
      orderBy: { number: 'asc' },
      include: { attributes: { orderBy: { key: 'asc' } }, references: { include: { reference: true } } },
    }),
    deps.db.characterReference.findMany({ where: { characterId: character.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
  ]);
  const carried = references.filter(isBundleable);
  const carriedShas = new Set(carried.map((r) => r.sha256));
  const images: BundleFile[] = [];
  for (const reference of carried) images.push({ path: referenceEntryName(reference.sha256, reference.mime), bytes: await readReference(deps.storage, reference) });

  const document: BundleCharacter = {
    id: character.id,
    slug: character.slug,
    name: character.name,
    currentVersion: character.currentVersion,
    versions: versions.map((v) => ({
      number: v.number,
      definition: v.definition as Record<string, unknown>,
      attributes: v.attributes.map((a) => ({ key: a.key, type: a.type as 'string' | 'number' | 'boolean', value: a.value as string | number | boolean })),
      note: v.note,
      createdAt: v.createdAt.toISOString(),
      references: v.references.map((link) => link.reference.sha256).filter((sha) => carriedShas.has(sha)).sort(),
    })),
    references: carried.map((r) => ({
      sha256: r.sha256,
      label: r.label,
      kind: r.kind,
      mime: r.mime,
      width: r.width,
      height: r.height,
      bytes: r.bytes,
      file: referenceEntryName(r.sha256, r.mime),
      detached: r.detachedAt !== null,
      createdAt: r.createdAt.toISOString(),
    })),
  };
  const files = [{ path: CHARACTER_ENTRY, bytes: jsonBytes(document) }, ...images];
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    files: files.map((f) => ({ path: f.path, sha256: sha256Hex(f.bytes), bytes: f.bytes.length })),
  };
  return { files: [{ path: MANIFEST_ENTRY, bytes: jsonBytes(manifest) }, ...files], omittedReferences: references.length - carried.length };
}

// A file gone or changed behind the library's back would make a bundle its own import refuses.
async function readReference(storage: LibraryStorage, reference: CharacterReference): Promise<Buffer> {
  const incomplete = new ApiError(409, 'bundle_incomplete', `the file of reference ${reference.id} is missing from the library or no longer matches its sha256`, {
    referenceId: reference.id,
  });
  let bytes: Buffer;
  try {
    bytes = await storage.read(reference.path);
  } catch {
    throw incomplete;
  }
  if (sha256Hex(bytes) !== reference.sha256) throw incomplete;
  return bytes;
}

const jsonBytes = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
