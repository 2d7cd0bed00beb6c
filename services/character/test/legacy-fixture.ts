import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createDb, type Db } from '@anime/db';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '@anime/testing';
import { importLegacy, type ImportLegacyOptions } from '../src/legacy/import-legacy';
import type { ImportReport } from '../src/legacy/import-report';
import { LEGACY_FIXTURE_DIR } from '../src/legacy/seed-demo';

/** A database of its own holding the legacy fixture, as the original system left it. */
export async function createLegacyDatabase(): Promise<TestDatabase> {
  const database = await createEmptyDatabase('legacy');
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(await readFile(path.join(LEGACY_FIXTURE_DIR, 'legacy-schema.sql'), 'utf8'));
  } finally {
    await client.end();
  }
  return database;
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

export async function createTempDir(label: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(tmpdir(), `character-${label}-`));
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Collects what the importer logs, so a test can read it. */
export function collectingLog(): { lines: string[]; info(m: string): void; warn(m: string): void; error(m: string): void } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
  };
}

/** The legacy fixture imported once into a database and library of the test file's own, for tests of a re-run. */
export interface ImportedLegacy {
  /** The target database the fixture was imported into. */
  readonly db: Db;
  /** The library its reference files were copied into. */
  readonly libraryDir: string;
  /** Runs the import again, from the same legacy database into the same target and library. */
  rerun(options?: Pick<ImportLegacyOptions, 'dryRun' | 'log'>): Promise<ImportReport>;
}

/**
 * Sets up, in the calling file or `describe`, the legacy database, the target database and the
 * library, imports the fixture once (beforeAll), and removes them all after (afterAll).
 */
export function useImportedLegacy(label: string): ImportedLegacy {
  let legacy: TestDatabase | undefined;
  let target: TestDatabase | undefined;
  let db: Db | undefined;
  let library: TempDir | undefined;

  const imported: ImportedLegacy = {
    get db() {
      if (!db) throw new Error('the target database is created in beforeAll');
      return db;
    },
    get libraryDir() {
      if (!library) throw new Error('the library is created in beforeAll');
      return library.path;
    },
    rerun: ({ dryRun = false, log } = {}) =>
      importLegacy({ fromUrl: legacy!.url, targetDb: imported.db, libraryDir: imported.libraryDir, imagesRoot: LEGACY_FIXTURE_DIR, dryRun, log }),
  };

  beforeAll(async () => {
    legacy = await createLegacyDatabase();
    target = await createTestDatabase(label);
    db = createDb(target.url, { max: 2 });
    library = await createTempDir(label);
    await imported.rerun();
  });
  afterAll(async () => {
    await db?.$disconnect();
    await target?.drop();
    await legacy?.drop();
    await library?.remove();
  });

  return imported;
}
