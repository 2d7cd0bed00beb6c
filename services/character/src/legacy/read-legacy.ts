import type { Client } from 'pg';
import type { LegacyLayout } from './legacy-layout';

export interface LegacyAttribute {
  name: string;
  value: string | null;
  type: string | null;
}

export interface LegacyVersion {
  id: string;
  number: number | null;
  definition: unknown;
  note: string | null;
  isCurrent: boolean;
  createdAt: Date | null;
  attributes: LegacyAttribute[];
}

export interface LegacyReference {
  id: string;
  name: string;
  imagePath: string;
  type: string | null;
  createdAt: Date | null;
}

export interface LegacyCharacter {
  id: string;
  name: string;
  slug: string | null;
  description: string | null;
  archivedAt: Date | null;
  createdAt: Date | null;
  versions: LegacyVersion[];
  references: LegacyReference[];
}

type Row = Record<string, unknown>;

/** Everything the importer needs from the legacy tables, grouped by character. */
export async function readLegacyCharacters(client: Client, layout: LegacyLayout): Promise<LegacyCharacter[]> {
  const select = async (table: string, order: string): Promise<Row[]> =>
    (await client.query<Row>(`SELECT * FROM "${table}" ORDER BY ${order}`)).rows;

  const characters = (await select('character_definitions', 'id')).map(
    (row): LegacyCharacter => ({
      id: String(row.id),
      name: String(row.name),
      slug: text(row.slug),
      description: text(row.description),
      archivedAt: date(row.archived_at) ?? (row.is_archived === true ? new Date() : null),
      createdAt: date(row.created_at),
      versions: [],
      references: [],
    }),
  );
  const byId = new Map(characters.map((c) => [c.id, c]));
  const versionById = new Map<string, LegacyVersion>();

  for (const row of await select('character_versions', 'id')) {
    const version: LegacyVersion = {
      id: String(row.id),
      number: typeof row.version_number === 'number' ? row.version_number : null,
      // A json/jsonb column arrives parsed; a text column holding JSON does not.
      definition: typeof row.definition === 'string' ? parseJson(row.definition) : row.definition,
      note: text(row.change_note) ?? text(row.note),
      isCurrent: row.is_current === true,
      createdAt: date(row.created_at),
      attributes: [],
    };
    versionById.set(version.id, version);
    byId.get(String(row.character_id))?.versions.push(version);
  }

  if (layout.columns.has('character_attributes')) {
    for (const row of await select('character_attributes', layout.columns.get('character_attributes')!.has('id') ? 'id' : '1')) {
      const attribute: LegacyAttribute = {
        name: String(row.attribute_name),
        value: row.attribute_value === null || row.attribute_value === undefined ? null : stringOf(row.attribute_value),
        type: text(row.attribute_type),
      };
      // Older rows hang off the character rather than a version: they then hold for every version.
      const version = row.version_id !== null && row.version_id !== undefined ? versionById.get(String(row.version_id)) : undefined;
      const targets = version ? [version] : (byId.get(String(row.character_id))?.versions ?? []);
      for (const target of targets) target.attributes.push(attribute);
    }
  }

  if (layout.columns.has('character_references')) {
    for (const row of await select('character_references', layout.columns.get('character_references')!.has('id') ? 'id' : '1')) {
      byId.get(String(row.character_id))?.references.push({
        id: String(row.id ?? `${row.character_id}-${row.name}`),
        name: String(row.name),
        imagePath: String(row.image_path),
        type: text(row.reference_type),
        createdAt: date(row.created_at),
      });
    }
  }
  return characters;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function date(value: unknown): Date | null {
  return value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null;
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
