import type { z } from 'zod';
import { assertVersionWithinLimits, CharacterDomainError } from '@anime/characters';
import { CHARACTER_LIMITS, FINITE_NUMBERS_MESSAGE, jsonDeeperThan, jsonIsStorable, jsonNumbersAreFinite, MAX_JSON_DEPTH, type CharacterAttributes } from '@anime/contracts';
import { sha256Hex, sniffImage } from '@anime/media';
import { versionBodySchema } from '../../http/character-bodies';
import { zodDetails } from '../../http/parse-body';
import {
  bundleCharacterSchema,
  CHARACTER_ENTRY,
  MANIFEST_ENTRY,
  manifestSchema,
  referenceEntryName,
  type BundleCharacter,
  type BundleManifest,
  type BundleReference,
  type BundleVersion,
} from './bundle-format';
import { invalidBundle } from './invalid-bundle';

export interface ParsedVersion {
  number: number;
  /** As exported, keys outside the schema included: the legacy importer keeps such keys. */
  definition: Record<string, unknown>;
  attributes: CharacterAttributes;
  note: string | null;
  createdAt: Date;
  referenceSha256s: string[];
}

export interface ParsedReference {
  meta: BundleReference;
  /** The image's bytes, inflated to the import's workspace (never held in memory as a whole archive). */
  path: string;
  /** As a full decode found them (decodeImage), not as the bundle says. */
  decoded: { mime: string; extension: string; width: number; height: number };
}

export interface ParsedBundle {
  character: Pick<BundleCharacter, 'id' | 'slug' | 'name' | 'currentVersion'>;
  /** Numbered 1..N, in order. */
  versions: ParsedVersion[];
  references: ParsedReference[];
}

/** What character.json says, checked as the API would take it; the references' bytes are checked apart. */
export interface ParsedCharacterDocument {
  character: ParsedBundle['character'];
  versions: ParsedVersion[];
  references: BundleReference[];
}

/** What the zip's central directory declares about an entry. */
export interface DeclaredEntry {
  uncompressedSize: number;
}

export interface EntryLimits {
  /** The most manifest.json and character.json may each hold (they are read into memory). */
  maxDocumentBytes: number;
  /** The most one reference image may hold: the limit of an image uploaded directly. */
  maxReferenceBytes: number;
}

export function parseManifest(bytes: Buffer): BundleManifest {
  return parseJson(bytes, MANIFEST_ENTRY, manifestSchema);
}

/**
 * Checks the archive's listing against the manifest before any other entry is inflated: every
 * entry listed, every listed file present with the size the zip declares, and every size within
 * its limit. A refusal here costs only the central directory and the manifest.
 */
export function checkListing(manifest: BundleManifest, entries: Map<string, DeclaredEntry>, limits: EntryLimits): void {
  const listed = new Set<string>();
  for (const file of manifest.files) {
    if (file.path === MANIFEST_ENTRY || listed.has(file.path)) throw invalidBundle(`the manifest lists "${file.path}" more than once or lists itself`, file.path);
    listed.add(file.path);
    const entry = entries.get(file.path);
    if (!entry) throw invalidBundle(`the manifest lists "${file.path}" but the archive does not hold it`, file.path);
    if (entry.uncompressedSize !== file.bytes) throw invalidBundle(`"${file.path}" does not match the sha256 and size the manifest gives for it`, file.path);
    const max = file.path === CHARACTER_ENTRY ? limits.maxDocumentBytes : limits.maxReferenceBytes;
    if (file.bytes > max) throw invalidBundle(`entry "${file.path}" declares ${file.bytes} bytes, more than the limit of ${max}`, file.path);
  }
  for (const name of entries.keys()) {
    if (name !== MANIFEST_ENTRY && !listed.has(name)) throw invalidBundle(`unexpected entry "${name}": the manifest does not list it`, name);
  }
  if (!listed.has(CHARACTER_ENTRY)) throw invalidBundle(`the manifest does not list ${CHARACTER_ENTRY}`, CHARACTER_ENTRY);
}

/** character.json, whose bytes the manifest vouches for, checked whole: every listed file must be one of its references. */
export function parseCharacterDocument(bytes: Buffer, manifest: BundleManifest): ParsedCharacterDocument {
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  if (sha256Hex(bytes) !== listed.get(CHARACTER_ENTRY)?.sha256) throw invalidBundle(`"${CHARACTER_ENTRY}" does not match the sha256 and size the manifest gives for it`, CHARACTER_ENTRY);
  const character = parseJson(bytes, CHARACTER_ENTRY, bundleCharacterSchema);
  for (const meta of character.references) {
    const expected = referenceEntryName(meta.sha256, meta.mime);
    if (meta.file !== expected) throw invalidBundle(`${CHARACTER_ENTRY}: reference ${meta.sha256} must be stored as "${expected}", not "${meta.file}"`, CHARACTER_ENTRY);
    const file = listed.get(meta.file);
    if (!file) throw invalidBundle(`the archive does not hold "${meta.file}"`, meta.file);
    if (file.sha256 !== meta.sha256 || file.bytes !== meta.bytes) throw invalidBundle(`"${meta.file}" does not match the sha256 and size ${CHARACTER_ENTRY} gives for it`, meta.file);
  }
  const shas = new Set(character.references.map((r) => r.sha256));
  if (shas.size !== character.references.length) throw invalidBundle(`${CHARACTER_ENTRY} lists a reference twice`, CHARACTER_ENTRY);
  const attached = character.references.filter((r) => !r.detached).length;
  if (attached > CHARACTER_LIMITS.attachedReferences) {
    throw invalidBundle(`${CHARACTER_ENTRY}: ${attached} references are attached; a character has at most ${CHARACTER_LIMITS.attachedReferences} attached references`, CHARACTER_ENTRY);
  }
  const referenceFiles = new Set(character.references.map((r) => r.file));
  for (const name of listed.keys()) {
    if (name !== CHARACTER_ENTRY && !referenceFiles.has(name)) throw invalidBundle(`unexpected entry "${name}": no reference in ${CHARACTER_ENTRY} uses it`, name);
  }

  const versions = [...character.versions].sort((a, b) => a.number - b.number).map((v) => parseVersion(v, shas));
  if (versions.some((v, i) => v.number !== i + 1)) throw invalidBundle(`${CHARACTER_ENTRY}: versions must be numbered 1 to ${versions.length}, each once`, CHARACTER_ENTRY);
  if (character.currentVersion > versions.length) throw invalidBundle(`${CHARACTER_ENTRY}: currentVersion ${character.currentVersion} has no version`, CHARACTER_ENTRY);

  const { id, slug, name, currentVersion } = character;
  return { character: { id, slug, name, currentVersion }, versions, references: character.references };
}

/** A reference's inflated bytes against what the bundle declares: hash and size, and its type from its own first bytes. */
export function checkReferenceBytes(meta: BundleReference, inflated: { sha256: string; bytes: number; head: Buffer }): void {
  if (inflated.sha256 !== meta.sha256 || inflated.bytes !== meta.bytes) throw invalidBundle(`"${meta.file}" does not match the sha256 and size ${CHARACTER_ENTRY} gives for it`, meta.file);
  // The bytes decide, as for an upload: a text file named .png is not an image.
  const sniffed = sniffImage(inflated.head);
  if (sniffed.mime !== meta.mime) throw invalidBundle(`"${meta.file}" is declared ${meta.mime} but its bytes are ${sniffed.mime}`, meta.file);
}

function parseJson<S extends z.ZodType>(bytes: Buffer, name: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidBundle(`${name} is not valid JSON`, name);
  }
  if (jsonDeeperThan(json)) throw invalidBundle(`${name} is nested deeper than ${MAX_JSON_DEPTH} levels`, name);
  const result = schema.safeParse(json);
  if (!result.success) throw invalidBundle(`${name} is invalid: ${describe(result.error)}`, name);
  return result.data;
}

function parseVersion(version: BundleVersion, knownShas: Set<string>): ParsedVersion {
  const where = `${CHARACTER_ENTRY}: version ${version.number}`;
  const keys = new Set(version.attributes.map((a) => a.key));
  if (keys.size !== version.attributes.length) throw invalidBundle(`${where} repeats an attribute key`, CHARACTER_ENTRY);
  const mistyped = version.attributes.find((a) => typeof a.value !== a.type);
  if (mistyped) throw invalidBundle(`${where}: attribute "${mistyped.key}" is declared ${mistyped.type} but holds a ${typeof mistyped.value}`, CHARACTER_ENTRY);
  const attributes = Object.fromEntries(version.attributes.map((a) => [a.key, a.value]));
  const body = versionBodySchema.safeParse({ definition: version.definition, attributes, note: version.note });
  if (!body.success) throw invalidBundle(`${where} is invalid: ${describe(body.error)}`, CHARACTER_ENTRY);
  // Keys the schema has no field for are kept, so they too must fit in PostgreSQL text.
  if (!jsonIsStorable(version.definition)) throw invalidBundle(`${where}: the definition holds NUL characters or lone surrogates`, CHARACTER_ENTRY);
  if (!jsonNumbersAreFinite(version.definition)) throw invalidBundle(`${where}: the definition ${FINITE_NUMBERS_MESSAGE}`, CHARACTER_ENTRY);
  // The writer's own limits, checked now so that a refusal comes before any image is stored.
  try {
    assertVersionWithinLimits({ definition: version.definition, attributes: body.data.attributes });
  } catch (error) {
    if (error instanceof CharacterDomainError) throw invalidBundle(`${where}: ${error.message}`, CHARACTER_ENTRY);
    throw error;
  }
  const unknown = version.references.find((sha) => !knownShas.has(sha));
  if (unknown) throw invalidBundle(`${where} uses reference ${unknown}, which the bundle does not hold`, CHARACTER_ENTRY);
  const used = new Set(version.references).size;
  if (used > CHARACTER_LIMITS.attachedReferences) {
    throw invalidBundle(`${where} is made with ${used} references: at most ${CHARACTER_LIMITS.attachedReferences} references per version`, CHARACTER_ENTRY);
  }
  return {
    number: version.number,
    definition: version.definition,
    attributes: body.data.attributes,
    note: body.data.note ?? null,
    createdAt: new Date(version.createdAt),
    referenceSha256s: [...new Set(version.references)],
  };
}

const describe = (error: z.ZodError) =>
  zodDetails(error)
    .map((d) => `${d.path}: ${d.message}`)
    .join('; ');
