import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { listMigrations, migrate } from '@anime/db';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Where the test PostgreSQL listens, for a TCP proxy put in front of it. */
export const TEST_POSTGRES = { host: new URL(ADMIN_URL).hostname, port: Number(new URL(ADMIN_URL).port || 5432) };

function urlFor(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * A template database migrated once per set of migrations (named by their checksum), so each
 * test file gets a fresh clone in ~100 ms instead of replaying the migrations.
 */
async function ensureTemplate(): Promise<string> {
  const migrations = await listMigrations();
  const digest = createHash('sha256').update(migrations.map((m) => m.checksum).join(',')).digest('hex').slice(0, 12);
  const name = `anime_test_tpl_${digest}`;
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock(727073)');
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!rowCount) {
        await admin.query(`CREATE DATABASE "${name}_building"`).catch(async () => {
          await admin.query(`DROP DATABASE "${name}_building" WITH (FORCE)`);
          await admin.query(`CREATE DATABASE "${name}_building"`);
        });
        await migrate(urlFor(`${name}_building`));
        await admin.query(`ALTER DATABASE "${name}_building" RENAME TO "${name}"`);
      }
    } finally {
      await admin.query('SELECT pg_advisory_unlock(727073)');
    }
  });
  return name;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A migrated database of its own for one test file; `drop()` removes it. */
export async function createTestDatabase(label = 'db'): Promise<TestDatabase> {
  const template = await ensureTemplate();
  const name = `anime_test_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (admin) => {
    // CREATE DATABASE ... TEMPLATE fails while another session is connected to the template.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  return {
    name,
    url: urlFor(name),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** An empty database (not migrated), for migration tests. */
export async function createEmptyDatabase(label = 'empty'): Promise<TestDatabase> {
  const name = `anime_test_${label}_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: urlFor(name),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
