import type { Client } from 'pg';

/** The columns of the original system's tables that the importer reads (or knowingly ignores). */
export const LEGACY_TABLES = {
  character_definitions: {
    required: ['id', 'name'],
    known: ['id', 'name', 'slug', 'description', 'archived_at', 'is_archived', 'created_at', 'updated_at'],
  },
  character_versions: {
    required: ['id', 'character_id', 'definition'],
    known: ['id', 'character_id', 'version_number', 'definition', 'change_note', 'note', 'is_current', 'created_at', 'updated_at'],
  },
  character_attributes: {
    required: ['attribute_name', 'attribute_value'],
    known: ['id', 'character_id', 'version_id', 'attribute_name', 'attribute_value', 'attribute_type', 'created_at', 'updated_at'],
  },
  character_references: {
    required: ['character_id', 'name', 'image_path'],
    known: ['id', 'character_id', 'name', 'image_path', 'reference_type', 'created_at', 'updated_at'],
  },
} as const;

export type LegacyTable = keyof typeof LEGACY_TABLES;

export interface LegacyLayout {
  /** Columns each legacy table has, by table; a table absent from the database is absent here. */
  columns: Map<LegacyTable, Set<string>>;
  /** `table.column` for every column the importer does not carry over. */
  unknownColumns: string[];
  /** Tables beside the four that nothing reads. */
  unknownTables: string[];
}

/** Reads the legacy database's layout and fails early, naming what is missing, if it cannot be imported. */
export async function inspectLegacyLayout(client: Client): Promise<LegacyLayout> {
  const { rows } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT c.table_name, c.column_name
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const byTable = new Map<string, string[]>();
  for (const row of rows) byTable.set(row.table_name, [...(byTable.get(row.table_name) ?? []), row.column_name]);

  const columns = new Map<LegacyTable, Set<string>>();
  const unknownColumns: string[] = [];
  for (const [table, spec] of Object.entries(LEGACY_TABLES) as [LegacyTable, (typeof LEGACY_TABLES)[LegacyTable]][]) {
    const present = byTable.get(table);
    if (!present) continue;
    const missing = spec.required.filter((c) => !present.includes(c));
    if (missing.length) throw new Error(`legacy table ${table} lacks column(s) ${missing.join(', ')}`);
    columns.set(table, new Set(present));
    const known: readonly string[] = spec.known;
    unknownColumns.push(...present.filter((c) => !known.includes(c)).map((c) => `${table}.${c}`));
  }
  for (const table of ['character_definitions', 'character_versions'] as const) {
    if (!columns.has(table)) throw new Error(`legacy database has no ${table} table`);
  }
  const attributes = columns.get('character_attributes');
  if (attributes && !attributes.has('version_id') && !attributes.has('character_id')) {
    throw new Error('legacy table character_attributes has neither version_id nor character_id');
  }
  const unknownTables = [...byTable.keys()].filter((t) => !(t in LEGACY_TABLES)).sort();
  return { columns, unknownColumns, unknownTables };
}
