import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import { createEmptyDatabase, type TestDatabase } from '@anime/testing';
import { migrate } from '../src/migrate';

// Prisma's CLI cannot diff offline here (its schema engine is a download), so this test is the
// guard: the committed SQL migrations, applied to an empty database, must produce exactly the
// tables, columns, types, nullability, enums and unique keys that prisma/schema.prisma declares.

interface DmmfField { name: string; kind: string; type: string; isRequired: boolean; isList: boolean; isUnique: boolean; isId: boolean; nativeType?: [string, unknown[]] | null; relationFromFields?: string[] }
interface DmmfModel { name: string; dbName: string | null; fields: DmmfField[]; uniqueFields: string[][]; primaryKey: { fields: string[] } | null }

const schemaPath = path.resolve(__dirname, '..', '..', '..', 'prisma', 'schema.prisma');
const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: readFileSync(schemaPath, 'utf8') }))).datamodel as {
  models: DmmfModel[];
  enums: { name: string; values: { name: string }[] }[];
};

const SCALAR_TO_PG: Record<string, string> = {
  String: 'text', Int: 'integer', BigInt: 'bigint', Boolean: 'boolean', DateTime: 'timestamp without time zone', Json: 'jsonb', Float: 'double precision',
};

function expectedType(field: DmmfField): string {
  if (field.isList) return 'ARRAY';
  if (field.kind === 'enum') return `USER-DEFINED:${field.type}`;
  if (field.nativeType?.[0] === 'Uuid') return 'uuid';
  return SCALAR_TO_PG[field.type];
}

describe('prisma/migrations', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createEmptyDatabase('schema');
    const first = await migrate(db.url);
    expect(first.applied.length).toBeGreaterThan(0);
    client = new Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('when applied twice, then the second run applies nothing', async () => {
    const second = await migrate(db.url);
    expect(second.applied).toEqual([]);
  });

  it('when applied to an empty database, then every model has its table with matching columns', async () => {
    const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string; udt_name: string; is_nullable: string }>(
      `SELECT table_name, column_name, data_type, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const actual = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
    const expectedKeys = new Set<string>();
    for (const model of dmmf.models) {
      const table = model.dbName ?? model.name;
      for (const field of model.fields.filter((f) => f.kind !== 'object')) {
        const key = `${table}.${field.name}`;
        expectedKeys.add(key);
        const column = actual.get(key);
        expect({ key, present: Boolean(column) }).toEqual({ key, present: true });
        const type = column!.data_type === 'USER-DEFINED' ? `USER-DEFINED:${column!.udt_name}` : column!.data_type;
        expect({ key, type }).toEqual({ key, type: expectedType(field) });
        // Prisma lists are always required in the DMMF; a nullable array column reads as an absent list.
        if (!field.isList) expect({ key, nullable: column!.is_nullable === 'YES' }).toEqual({ key, nullable: !field.isRequired });
      }
    }
    const extra = [...actual.keys()].filter((k) => !k.startsWith('_prisma_migrations.') && !expectedKeys.has(k));
    expect(extra).toEqual([]);
  });

  it('when applied, then enums carry exactly the schema values', async () => {
    for (const enumDef of dmmf.enums) {
      const { rows } = await client.query<{ v: string }>(
        `SELECT e.enumlabel AS v FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder`,
        [enumDef.name],
      );
      expect(rows.map((r) => r.v)).toEqual(enumDef.values.map((v) => v.name));
    }
  });

  it('when applied, then every @unique, @@unique and @id has its index', async () => {
    const { rows } = await client.query<{ table: string; columns: string[]; unique: boolean }>(
      `SELECT t.relname AS table, array_agg(a.attname ORDER BY k.ord)::text[] AS columns, i.indisunique AS unique
         FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        GROUP BY t.relname, i.indexrelid, i.indisunique`,
    );
    const uniques = new Set(rows.filter((r) => r.unique).map((r) => `${r.table}(${r.columns.join(',')})`));
    for (const model of dmmf.models) {
      const table = model.dbName ?? model.name;
      const wanted = [
        ...model.fields.filter((f) => f.isUnique || f.isId).map((f) => [f.name]),
        ...model.uniqueFields,
        ...(model.primaryKey ? [model.primaryKey.fields] : []),
      ];
      for (const columns of wanted) expect(uniques).toContain(`${table}(${columns.join(',')})`);
    }
  });

  it('when a character version exists, then the database refuses to update it', async () => {
    await client.query(`INSERT INTO characters (id, slug, name, "updatedAt") VALUES (gen_random_uuid(), 'x', 'X', now())`);
    await client.query(`INSERT INTO character_versions (id, "characterId", number, definition) SELECT gen_random_uuid(), id, 1, '{}' FROM characters WHERE slug = 'x'`);
    await expect(client.query(`UPDATE character_versions SET note = 'changed'`)).rejects.toThrow(/immutable/);
    await expect(client.query(`DELETE FROM character_versions`)).rejects.toThrow(/immutable/);
  });

  it('when a workflow template version exists, then the database refuses to update or delete it', async () => {
    await client.query(`INSERT INTO workflow_templates (id, slug, name, "updatedAt") VALUES (gen_random_uuid(), 'w', 'W', now())`);
    await client.query(
      `INSERT INTO workflow_template_versions (id, "templateId", number, name, graph, params) SELECT gen_random_uuid(), id, 1, 'W', '{}', '{}' FROM workflow_templates WHERE slug = 'w'`,
    );
    await expect(client.query(`UPDATE workflow_template_versions SET graph = '{"1": {}}'`)).rejects.toThrow(/workflow template versions are immutable/);
    await expect(client.query(`DELETE FROM workflow_template_versions`)).rejects.toThrow(/immutable/);
    // The template row itself moves on (its current version, its name).
    await client.query(`UPDATE workflow_templates SET "currentVersion" = 1 WHERE slug = 'w'`);
  });
});
