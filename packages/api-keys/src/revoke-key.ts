import type { Db } from '@anime/db';
import { ApiKeyError } from './key-errors';

/** Revokes the live key of that name; the next request with it is 401. Unknown name: `not_found`. */
export async function revokeKey(db: Db, name: string, now = new Date()): Promise<{ id: string; name: string }> {
  const live = await db.apiKey.findFirst({ where: { name, revokedAt: null }, select: { id: true } });
  if (!live) throw new ApiKeyError('not_found', `no live key named "${name}" (pnpm apikey:list shows them)`);
  await db.apiKey.updateMany({ where: { id: live.id, revokedAt: null }, data: { revokedAt: now } });
  return { id: live.id, name };
}
