import { Client } from 'pg';
import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { seedDemo } from '../src/legacy/seed-demo';
import { createTempDir, type TempDir } from './legacy-fixture';

let database: TestDatabase;
let db: Db;
let library: TempDir;

beforeAll(async () => {
  database = await createTestDatabase('seed');
  db = createDb(database.url, { max: 2 });
  library = await createTempDir('seed');
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await library?.remove();
});

async function databaseExists(name: string): Promise<boolean> {
  const url = new URL(database.url);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return Boolean((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount);
  } finally {
    await client.end();
  }
}

describe('seedDemo', () => {
  it('when run, then Kai comes in through the legacy importer and the scratch database is dropped', async () => {
    const report = await seedDemo({ databaseUrl: database.url, libraryDir: library.path });

    expect(report.failed).toBe(false);
    expect(report.created).toMatchObject({ characters: 1, versions: 3, references: 2 });
    const kai = await db.character.findUniqueOrThrow({ where: { slug: 'kai-nakamura' } });
    expect(kai).toMatchObject({ legacyId: 'legacy:7', currentVersion: 3 });
    expect(await databaseExists(`${database.name}_legacy`)).toBe(false);
  });

  it('when run again, then it creates nothing', async () => {
    const report = await seedDemo({ databaseUrl: database.url, libraryDir: library.path });
    expect(report.characters.map((c) => c.status)).toEqual(['already_imported']);
    expect(report.created.characters + report.created.versions + report.created.files).toBe(0);
    expect(await db.characterVersion.count()).toBe(3);
  });
});
