import type { Db } from '@anime/db';

export interface ListedKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  projects: string[] | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

/** Every key, live ones first, newest first; never the key (it is not stored). */
export async function listKeys(db: Db, options: { includeRevoked?: boolean } = {}): Promise<ListedKey[]> {
  const rows = await db.apiKey.findMany({
    where: options.includeRevoked === false ? { revokedAt: null } : {},
    orderBy: [{ createdAt: 'desc' }],
    select: { id: true, name: true, prefix: true, scopes: true, projects: true, expiresAt: true, revokedAt: true, lastUsedAt: true, createdAt: true },
  });
  return rows
    .map((r) => ({ ...r, projects: r.projects?.length ? r.projects : null }))
    .sort((a, b) => Number(a.revokedAt !== null) - Number(b.revokedAt !== null));
}
