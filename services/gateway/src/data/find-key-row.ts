import type { KeyRow, KeyRowFinder } from '@anime/api-keys';
import { readRows, type Db } from '@anime/db';

// By the unique hash, only what verifying needs; the dates as epoch ms (see readRows).
export const KEY_COLUMNS = `k.id::text AS "keyId", k.name AS "keyName", k.scopes AS "keyScopes", k.projects AS "keyProjects",
  (extract(epoch FROM k."expiresAt") * 1000)::float8 AS "keyExpiresAt", (extract(epoch FROM k."revokedAt") * 1000)::float8 AS "keyRevokedAt"`;
const KEY_BY_HASH = { name: 'gateway-key-by-hash', text: `SELECT ${KEY_COLUMNS} FROM api_keys k WHERE k."keyHash" = $1` };

/** The key columns as a statement selects them (KEY_COLUMNS, from `api_keys k`). */
export interface KeyColumns {
  keyId: string | null;
  keyName: string;
  keyScopes: string[];
  keyProjects: string[] | null;
  keyExpiresAt: number | null;
  keyRevokedAt: number | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

/** The row verifyKey needs, from KEY_COLUMNS (null when no key matched). */
export function toKeyRow(row: KeyColumns | undefined): KeyRow | null {
  if (!row || row.keyId === null) return null;
  return { id: row.keyId, name: row.keyName, scopes: row.keyScopes, projects: row.keyProjects, expiresAt: date(row.keyExpiresAt), revokedAt: date(row.keyRevokedAt) };
}

/** The API key lookup made on every request: one indexed statement, no Prisma interpreter, no cache (revocation is immediate). */
export function keyRowFinder(db: Db): KeyRowFinder {
  return async (keyHash: string): Promise<KeyRow | null> => toKeyRow((await readRows<KeyColumns>(db, KEY_BY_HASH, [keyHash]))[0]);
}
