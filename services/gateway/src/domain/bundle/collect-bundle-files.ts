import type { Character, Db } from '@anime/db';
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
  type BundleVersion,
} from './bundle-format';
import { checkReferenceFiles } from './check-reference-files';
import type { ExpectedFile } from './verified-file-stream';
import { MAX_BUNDLE_DOCUMENT_BYTES } from './read-bundle';

/**
 * A file of the bundle: bytes made here (manifest.json, character.json), or an image streamed from
 * the library, checked as it streams against what its reference records (verifiedFileStream).
 */
export type BundleFile = { path: string; bytes: Buffer } | ({ path: string; source: string } & ExpectedFile);

export interface CollectedBundle {
  /** The manifest first, then character.json, then the reference images. */
  files: BundleFile[];
  /** References left behind: images the legacy import never found, or of a type bundles do not carry. */
  omittedReferences: number;
}

/** Versions read at once while character.json is made: a few MB in memory, whatever the character holds. */
const VERSION_BATCH = 10;

/**
 * Everything a character's bundle holds, archived characters included: all versions with their
 * attributes and references, and each reference image, checked against its recorded hash and size
 * now (checkReferenceFiles: a lost one is marked missing and the export is 409 `bundle_incomplete`)
 * and streamed from the library into the zip later, so no image is held in memory, checked again
 * as it streams (zipFiles: one changed meanwhile cuts the export). character.json
 * may hold at most MAX_BUNDLE_DOCUMENT_BYTES, what an import reads: beyond, 409 `bundle_too_large`.
 */
export async function collectBundleFiles(deps: { db: Db; storage: LibraryStorage }, character: Character): Promise<CollectedBundle> {
  const references = await deps.db.characterReference.findMany({ where: { characterId: character.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  const carried = references.filter(isBundleable);
  const carriedShas = new Set(carried.map((r) => r.sha256));
  // Versions first: a refusal for their size comes before any image is read.
  const versions = await bundleVersions(deps.db, character, carriedShas);
  const sources = await checkReferenceFiles(deps, carried);
  const images: BundleFile[] = carried.map((reference, i) => ({
    path: referenceEntryName(reference.sha256, reference.mime),
    source: sources[i],
    referenceId: reference.id,
    sha256: reference.sha256,
    size: reference.bytes,
  }));

  const document: BundleCharacter = {
    id: character.id,
    slug: character.slug,
    name: character.name,
    currentVersion: character.currentVersion,
    versions,
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
  const characterJson = jsonBytes(document);
  if (characterJson.length > MAX_BUNDLE_DOCUMENT_BYTES) throw bundleTooLarge(character);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    files: [
      { path: CHARACTER_ENTRY, sha256: sha256Hex(characterJson), bytes: characterJson.length },
      ...carried.map((r) => ({ path: referenceEntryName(r.sha256, r.mime), sha256: r.sha256, bytes: r.bytes })),
    ],
  };
  return {
    files: [{ path: MANIFEST_ENTRY, bytes: jsonBytes(manifest) }, { path: CHARACTER_ENTRY, bytes: characterJson }, ...images],
    omittedReferences: references.length - carried.length,
  };
}

/** Every version as character.json holds it, read a batch at a time and refused as soon as they outgrow the limit. */
async function bundleVersions(db: Db, character: Character, carriedShas: Set<string>): Promise<BundleVersion[]> {
  const versions: BundleVersion[] = [];
  let bytes = 0;
  for (let last = 0; ; ) {
    const batch = await db.characterVersion.findMany({
      where: { characterId: character.id, number: { gt: last } },
      orderBy: { number: 'asc' },
      take: VERSION_BATCH,
      include: { attributes: { orderBy: { key: 'asc' } }, references: { include: { reference: { select: { sha256: true } } } } },
    });
    for (const v of batch) {
      const version: BundleVersion = {
        number: v.number,
        definition: v.definition as Record<string, unknown>,
        attributes: v.attributes.map((a) => ({ key: a.key, type: a.type as 'string' | 'number' | 'boolean', value: a.value as string | number | boolean })),
        note: v.note,
        createdAt: v.createdAt.toISOString(),
        references: v.references.map((link) => link.reference.sha256).filter((sha) => carriedShas.has(sha)).sort(),
      };
      // Compact JSON is a lower bound of what the indented document takes: stop before holding more.
      bytes += Buffer.byteLength(JSON.stringify(version), 'utf8');
      if (bytes > MAX_BUNDLE_DOCUMENT_BYTES) throw bundleTooLarge(character);
      versions.push(version);
    }
    if (batch.length < VERSION_BATCH) return versions;
    last = batch[batch.length - 1].number;
  }
}

const bundleTooLarge = (character: Character) =>
  new ApiError(
    409,
    'bundle_too_large',
    `the versions of character ${character.slug} take more than ${MAX_BUNDLE_DOCUMENT_BYTES} bytes as ${CHARACTER_ENTRY}, the most a bundle may hold (an import reads it whole)`,
    { entry: CHARACTER_ENTRY, maxBytes: MAX_BUNDLE_DOCUMENT_BYTES },
  );

const jsonBytes = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
