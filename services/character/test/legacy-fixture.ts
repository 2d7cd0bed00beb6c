import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createEmptyDatabase, type TestDatabase } from '@anime/testing';
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
