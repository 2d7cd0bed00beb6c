import type { z } from 'zod';
import { jsonIsStorable, type CharacterAttributes } from '@anime/contracts';
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
  data: Buffer;
  width: number | null;
  height: number | null;
}

export interface ParsedBundle {
  character: Pick<BundleCharacter, 'id' | 'slug' | 'name' | 'currentVersion'>;
  /** Numbered 1..N, in order. */
  versions: ParsedVersion[];
  references: ParsedReference[];
}

/**
 * Checks a whole bundle before anything is written: every file listed in the manifest with its
 * hash, nothing else in the archive, character.json valid as the API would take it, and every
 * reference a real image of the type it claims.
 */
export function parseBundle(files: Map<string, Buffer>): ParsedBundle {
  const manifest = parseJsonEntry(files, MANIFEST_ENTRY, manifestSchema);
  const listed = new Set<string>();
  for (const file of manifest.files) {
    if (file.path === MANIFEST_ENTRY || listed.has(file.path)) throw invalidBundle(`the manifest lists "${file.path}" more than once or lists itself`, file.path);
    listed.add(file.path);
    const bytes = files.get(file.path);
    if (!bytes) throw invalidBundle(`the manifest lists "${file.path}" but the archive does not hold it`, file.path);
    if (bytes.length !== file.bytes || sha256Hex(bytes) !== file.sha256) {
      throw invalidBundle(`"${file.path}" does not match the sha256 and size the manifest gives for it`, file.path);
    }
  }
  for (const name of files.keys()) {
    if (name !== MANIFEST_ENTRY && !listed.has(name)) throw invalidBundle(`unexpected entry "${name}": the manifest does not list it`, name);
  }
  if (!listed.has(CHARACTER_ENTRY)) throw invalidBundle(`the manifest does not list ${CHARACTER_ENTRY}`, CHARACTER_ENTRY);

  const character = parseJsonEntry(files, CHARACTER_ENTRY, bundleCharacterSchema);
  const references = character.references.map((meta) => parseReference(files, meta));
  const shas = new Set(references.map((r) => r.meta.sha256));
  if (shas.size !== references.length) throw invalidBundle(`${CHARACTER_ENTRY} lists a reference twice`, CHARACTER_ENTRY);
  const referenceFiles = new Set(references.map((r) => r.meta.file));
  for (const name of listed) {
    if (name !== CHARACTER_ENTRY && !referenceFiles.has(name)) throw invalidBundle(`unexpected entry "${name}": no reference in ${CHARACTER_ENTRY} uses it`, name);
  }

  const versions = [...character.versions].sort((a, b) => a.number - b.number).map((v) => parseVersion(v, shas));
  if (versions.some((v, i) => v.number !== i + 1)) throw invalidBundle(`${CHARACTER_ENTRY}: versions must be numbered 1 to ${versions.length}, each once`, CHARACTER_ENTRY);
  if (character.currentVersion > versions.length) throw invalidBundle(`${CHARACTER_ENTRY}: currentVersion ${character.currentVersion} has no version`, CHARACTER_ENTRY);

  const { id, slug, name, currentVersion } = character;
  return { character: { id, slug, name, currentVersion }, versions, references };
}

function parseJsonEntry<S extends z.ZodType>(files: Map<string, Buffer>, name: string, schema: S): z.infer<S> {
  const bytes = files.get(name);
  if (!bytes) throw invalidBundle(`the archive holds no ${name}`, name);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidBundle(`${name} is not valid JSON`, name);
  }
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
  const unknown = version.references.find((sha) => !knownShas.has(sha));
  if (unknown) throw invalidBundle(`${where} uses reference ${unknown}, which the bundle does not hold`, CHARACTER_ENTRY);
  return {
    number: version.number,
    definition: version.definition,
    attributes: body.data.attributes,
    note: body.data.note ?? null,
    createdAt: new Date(version.createdAt),
    referenceSha256s: [...new Set(version.references)],
  };
}

function parseReference(files: Map<string, Buffer>, meta: BundleReference): ParsedReference {
  const expected = referenceEntryName(meta.sha256, meta.mime);
  if (meta.file !== expected) throw invalidBundle(`${CHARACTER_ENTRY}: reference ${meta.sha256} must be stored as "${expected}", not "${meta.file}"`, CHARACTER_ENTRY);
  const data = files.get(meta.file);
  if (!data) throw invalidBundle(`the archive does not hold "${meta.file}"`, meta.file);
  if (sha256Hex(data) !== meta.sha256 || data.length !== meta.bytes) throw invalidBundle(`"${meta.file}" does not match the sha256 and size ${CHARACTER_ENTRY} gives for it`, meta.file);
  // The bytes decide, as for an upload: a text file named .png is not an image.
  const image = sniffImage(data);
  if (image.mime !== meta.mime) throw invalidBundle(`"${meta.file}" is declared ${meta.mime} but its bytes are ${image.mime}`, meta.file);
  return { meta, data, width: image.width, height: image.height };
}

const describe = (error: z.ZodError) =>
  zodDetails(error)
    .map((d) => `${d.path}: ${d.message}`)
    .join('; ');
