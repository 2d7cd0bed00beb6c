import { z } from 'zod';
import { isNeverStoredReference } from '@anime/characters';
import { CHARACTER_LIMITS, storableText } from '@anime/contracts';
import { REFERENCE_KINDS } from '../../http/character-bodies';

/**
 * A character bundle is a zip holding exactly:
 * - `manifest.json`: the format, and the sha256 and size of every other file;
 * - `character.json`: the character, all its versions and the metadata of its references;
 * - `references/<sha256>.<png|jpg|webp>`: each reference image, named by the hash of its bytes.
 */
export const BUNDLE_FORMAT = 'anime-character-bundle';
export const BUNDLE_FORMAT_VERSION = 1;
export const MANIFEST_ENTRY = 'manifest.json';
export const CHARACTER_ENTRY = 'character.json';
export const REFERENCES_DIR = 'references/';

export const BUNDLE_IMAGE_EXTENSIONS = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' } as const;
export type BundleImageMime = keyof typeof BUNDLE_IMAGE_EXTENSIONS;

/**
 * Whether a reference travels in bundles: one the library was given bytes for, of a type an upload
 * could have. The legacy importer also records images it never found and other types (GIF); those
 * stay behind, on export and when versions are compared on import alike. A stored reference found
 * missing since is still carried: its export fails with `bundle_incomplete` until its file is back,
 * as before anyone noticed, rather than leaving it out of the versions made with it.
 */
export const isBundleable = <R extends { missing: boolean; sha256: string; mime: string }>(reference: R): reference is R & { mime: BundleImageMime } =>
  !isNeverStoredReference(reference) && Object.hasOwn(BUNDLE_IMAGE_EXTENSIONS, reference.mime);

/** The only name a reference's bytes may have inside a bundle. */
export const referenceEntryName = (sha256: string, mime: BundleImageMime) => `${REFERENCES_DIR}${sha256}.${BUNDLE_IMAGE_EXTENSIONS[mime]}`;

// What one character may hold (CHARACTER_LIMITS), so every export imports again; an import writes
// every version and reference in one transaction, and these keep it well within its timeout.
export const MAX_BUNDLE_VERSIONS = CHARACTER_LIMITS.versions;
export const MAX_BUNDLE_REFERENCES = CHARACTER_LIMITS.storedReferences;

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha256');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
// PostgreSQL's timestamps start at 4713 BC but it reads a year written 0000 as out of range: an
// ISO year 0000 (1 BC) is refused here, naming the entry, rather than failing the insert with a 500.
const bundleDate = z.iso.datetime().refine((value) => new Date(value).getUTCFullYear() >= 1, 'must be a date from the year 0001 on');

export const manifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
  files: z.array(z.strictObject({ path: z.string().min(1).max(300), sha256: sha256Schema, bytes: count })),
});
export type BundleManifest = z.infer<typeof manifestSchema>;

// Kept loose on purpose: definitions and attributes are checked with the API's own body schema
// when the bundle is parsed, so a bundle can hold nothing the API itself would refuse.
const bundleVersionSchema = z.strictObject({
  number: z.number().int().min(1),
  definition: z.record(z.string(), z.unknown()),
  attributes: z
    .array(z.strictObject({ key: z.string(), type: z.enum(['string', 'number', 'boolean']), value: z.union([z.string(), z.number(), z.boolean()]) }))
    .max(CHARACTER_LIMITS.attributesPerVersion, `at most ${CHARACTER_LIMITS.attributesPerVersion} attributes per version`),
  note: z.string().nullable(),
  createdAt: bundleDate,
  // Counted again once repeats are dropped (parseVersion): at most CHARACTER_LIMITS.attachedReferences.
  references: z.array(sha256Schema).max(MAX_BUNDLE_REFERENCES, `at most ${MAX_BUNDLE_REFERENCES} references`),
});

const bundleReferenceSchema = z.strictObject({
  sha256: sha256Schema,
  label: storableText().min(1).max(200),
  kind: z.enum(REFERENCE_KINDS),
  mime: z.enum(Object.keys(BUNDLE_IMAGE_EXTENSIONS) as [BundleImageMime, ...BundleImageMime[]]),
  width: count.nullable(),
  height: count.nullable(),
  bytes: count,
  file: z.string(),
  detached: z.boolean(),
  createdAt: bundleDate,
});

export const bundleCharacterSchema = z.strictObject({
  id: z.uuid(),
  // Where the bundle came from, as that database holds it (the legacy importer keeps slugs the API
  // would not make, such as one that looks like an id): checked as a slug only where it names a new
  // character (resolveImportTarget), so such a character's bundle still merges, or imports with ?as.
  slug: storableText().min(1).max(200),
  name: storableText().trim().min(1).max(200),
  currentVersion: z.number().int().min(1),
  versions: z.array(bundleVersionSchema).min(1).max(MAX_BUNDLE_VERSIONS, `at most ${MAX_BUNDLE_VERSIONS} versions`),
  references: z.array(bundleReferenceSchema).max(MAX_BUNDLE_REFERENCES, `at most ${MAX_BUNDLE_REFERENCES} references`),
});
export type BundleCharacter = z.infer<typeof bundleCharacterSchema>;
export type BundleVersion = BundleCharacter['versions'][number];
export type BundleReference = BundleCharacter['references'][number];
