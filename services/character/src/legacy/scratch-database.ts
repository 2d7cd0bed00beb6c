import { Client } from 'pg';

const NAME = /^[A-Za-z0-9_-]{1,63}$/;

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const admin = new Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * Runs `use` against a database of its own named `name`, on the server `serverUrl` points at,
 * holding `sql`; drops it afterwards, whatever happens. A leftover from a crashed run is replaced.
 */
export async function withScratchDatabase<T>(serverUrl: string, name: string, sql: string, use: (url: string) => Promise<T>): Promise<T> {
  if (!NAME.test(name)) throw new Error(`unsupported scratch database name: ${name}`);
  await onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await onServer(serverUrl, `CREATE DATABASE "${name}"`);
  try {
    const url = databaseUrl(serverUrl, name);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
    return await use(url);
  } finally {
    await onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}
