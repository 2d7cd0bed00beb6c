import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb } from '@anime/db';
import { LEGACY_FIXTURE_DIR } from '../src/legacy/seed-demo';
import { createLegacyDatabase, createTempDir, type TempDir } from './legacy-fixture';

const ROOT = path.resolve(__dirname, '..', '..', '..');
// The compiled program `pnpm character:import-legacy` runs (built by the jest global setup).
const CLI = path.join(ROOT, 'services', 'character', 'dist', 'import-legacy.js');

let legacy: TestDatabase;
let target: TestDatabase;
let library: TempDir;

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  legacy = await createLegacyDatabase();
  target = await createTestDatabase('cli');
  library = await createTempDir('cli');
});

afterAll(async () => {
  await legacy?.drop();
  await target?.drop();
  await library?.remove();
});

describe('pnpm character:import-legacy', () => {
  it('when asked for --help, then it prints the usage and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/usage: pnpm character:import-legacy --from <postgres-url>/);
  });

  it('when --from is missing, then it names the problem and exits 2', async () => {
    const result = await run([], { DATABASE_URL: target.url, LIBRARY_DIR: library.path });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--from <postgres-url> is required/);
  });

  it('when the legacy database cannot be reached, then it fails with exit 1', async () => {
    const missing = new URL(legacy.url);
    missing.pathname = '/anime_test_no_such_legacy';
    const result = await run(['--from', missing.toString()], { DATABASE_URL: target.url, LIBRARY_DIR: library.path });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/character:import-legacy failed: .*anime_test_no_such_legacy/);
  });

  it('when run twice, then the first prints what it created and the second that it created nothing', async () => {
    const env = { DATABASE_URL: target.url, LIBRARY_DIR: library.path };
    const args = ['--from', legacy.url, '--images-root', LEGACY_FIXTURE_DIR];
    const first = await run(args, env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/created Kai Nakamura \(legacy:7\) as kai-nakamura: 3 versions \(current 3\)/);
    expect(first.stdout).toMatch(/character_definitions\.mood_board_url/);
    expect(first.stdout).toMatch(/created 1 character, 3 versions, 16 attributes, 2 references, 6 version-reference links, 2 files/);

    const second = await run(args, env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/created nothing: everything was already imported/);
  });

  it('when the target database is not migrated yet, then a dry run says so and exits 1, and a real run migrates it and imports', async () => {
    const fresh = await createEmptyDatabase('legacyfresh');
    const freshLibrary = await createTempDir('cli-fresh');
    try {
      const env = { DATABASE_URL: fresh.url, LIBRARY_DIR: freshLibrary.path };
      const args = ['--from', legacy.url, '--images-root', LEGACY_FIXTURE_DIR];
      // Once: every character "failed" with Prisma's "The table `public.characters` does not exist".
      const dry = await run([...args, '--dry-run'], env);
      expect(dry.code).toBe(1);
      expect(dry.stderr).toMatch(/lacks \d+ migration\(s\).*run pnpm db:migrate/);
      expect(dry.stderr).not.toMatch(/does not exist/);

      const real = await run(args, env);
      expect(real.stderr).not.toMatch(/does not exist/);
      expect(real.code).toBe(0);
      expect(real.stdout).toMatch(/created Kai Nakamura \(legacy:7\) as kai-nakamura: 3 versions/);
      const db = createDb(fresh.url, { max: 1 });
      try {
        expect(await db.characterVersion.count()).toBe(3);
      } finally {
        await db.$disconnect();
      }
    } finally {
      await fresh.drop();
      await freshLibrary.remove();
    }
  });
});
