import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createDb, ensureDatabase, migrate } from '@anime/db';
import { importLegacy, type ImportLog } from './import-legacy';
import type { ImportReport } from './import-report';
import { withScratchDatabase } from './scratch-database';

/** The nearest `fixtures/legacy` above `from`: the same folder from src/legacy/ and from a bundle in dist/. */
function findFixtureDir(from: string): string {
  for (let dir = from; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'fixtures', 'legacy');
    if (existsSync(path.join(candidate, 'legacy-schema.sql'))) return candidate;
  }
  return path.resolve(from, '..', '..', 'fixtures', 'legacy');
}

/** The original system's tables holding Kai Nakamura, and the images they point at. */
export const LEGACY_FIXTURE_DIR = findFixtureDir(__dirname);

export interface SeedDemoOptions {
  databaseUrl: string;
  libraryDir: string;
  log?: ImportLog;
}

/**
 * Seeds the demo character the way a real migration would: the legacy fixture goes into a
 * scratch database `<target>_legacy` and the legacy importer brings it over, so there is no
 * second, hand-written copy of Kai to drift. Creates and migrates the target when needed;
 * running it again creates nothing.
 */
export async function seedDemo(options: SeedDemoOptions): Promise<ImportReport> {
  await ensureDatabase(options.databaseUrl);
  await migrate(options.databaseUrl);
  const target = decodeURIComponent(new URL(options.databaseUrl).pathname.replace(/^\//, ''));
  // PostgreSQL cuts identifiers at 63 bytes; cut the target part so the suffix survives.
  const scratch = `${target.slice(0, 63 - '_legacy'.length)}_legacy`;
  const sql = await readFile(path.join(LEGACY_FIXTURE_DIR, 'legacy-schema.sql'), 'utf8');
  return withScratchDatabase(options.databaseUrl, scratch, sql, async (fromUrl) => {
    const targetDb = createDb(options.databaseUrl, { max: 2 });
    try {
      return await importLegacy({ fromUrl, targetDb, libraryDir: options.libraryDir, imagesRoot: LEGACY_FIXTURE_DIR, log: options.log });
    } finally {
      await targetDb.$disconnect();
    }
  });
}
