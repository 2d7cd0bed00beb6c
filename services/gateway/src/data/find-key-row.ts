import type { KeyRow, KeyRowFinder } from '@anime/api-keys';
import type { Db } from '@anime/db';
import { readRows } from './read-rows';

// By the unique hash, only what verifying needs; the dates as epoch ms (see readRows).
const KEY_BY_HASH = { name: 'gateway-key-by-hash', text: `SELECT id::text AS id, name, scopes, projects,
  (extract(epoch FROM "expiresAt") * 1000)::float8 AS "expiresAt", (extract(epoch FROM "revokedAt") * 1000)::float8 AS "revokedAt"
  FROM api_keys WHERE "keyHash" = $1` };

interface Row {
  id: string;
  name: string;
  scopes: string[];
  projects: string[] | null;
  expiresAt: number | null;
  revokedAt: number | null;
}

/** The API key lookup made on every request: one indexed statement, no Prisma interpreter, no cache (revocation is immediate). */
export function keyRowFinder(db: Db): KeyRowFinder {
  return async (keyHash: string): Promise<KeyRow | null> => {
    const [row] = await readRows<Row>(db, KEY_BY_HASH, [keyHash]);
    if (!row) return null;
    const date = (ms: number | null) => (ms === null ? null : new Date(ms));
    return { id: row.id, name: row.name, scopes: row.scopes, projects: row.projects, expiresAt: date(row.expiresAt), revokedAt: date(row.revokedAt) };
  };
}
