import type { ApiScope } from '@anime/contracts';
import type { Db } from '@anime/db';
import { hashKey, KEY_MARK, MAX_KEY_LENGTH } from './key-material';

export interface VerifiedKey {
  id: string;
  name: string;
  scopes: ApiScope[];
  /** null: every project. */
  projects: string[] | null;
}

/** What verifying a key needs of its row. */
export interface KeyRow {
  id: string;
  name: string;
  scopes: string[];
  projects: string[] | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** Reads the row of a key hash: by default with Prisma; a hot path may pass its own single statement. */
export type KeyRowFinder = (keyHash: string) => Promise<KeyRow | null>;

export type Verification = { ok: true; key: VerifiedKey } | { ok: false; reason: 'malformed' | 'unknown' | 'expired' | 'revoked' };

/**
 * Looks a presented key up by its hash: one indexed read, no cache, so a revocation takes effect
 * on the very next request. Never throws for a bad key (only when the database itself fails).
 */
export async function verifyKey(db: Db, presented: string | undefined | null, now = new Date(), find?: KeyRowFinder): Promise<Verification> {
  if (!presented || presented.length > MAX_KEY_LENGTH || !presented.startsWith(KEY_MARK)) return { ok: false, reason: 'malformed' };
  const keyHash = hashKey(presented);
  const row = find
    ? await find(keyHash)
    : await db.apiKey.findUnique({ where: { keyHash }, select: { id: true, name: true, scopes: true, projects: true, expiresAt: true, revokedAt: true } });
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.revokedAt) return { ok: false, reason: 'revoked' };
  if (row.expiresAt && row.expiresAt <= now) return { ok: false, reason: 'expired' };
  // Prisma reads a NULL text[] as an empty list: no key is ever stored with an empty project list.
  return { ok: true, key: { id: row.id, name: row.name, scopes: row.scopes as ApiScope[], projects: row.projects?.length ? row.projects : null } };
}
