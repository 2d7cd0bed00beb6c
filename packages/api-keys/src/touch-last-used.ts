import type { Db } from '@anime/db';

const EVERY_MS = 60_000;
/** Past this many keys, entries older than the interval are dropped: memory stays bounded. */
const MAX_TRACKED = 10_000;

/**
 * Records when a key was last used, at most once a minute per key and without making the request
 * wait: a write per request would turn every read into a write.
 */
export function lastUsedRecorder(db: Db, onError: (error: Error) => void = () => undefined, clock = () => Date.now()) {
  const touched = new Map<string, number>();
  return (keyId: string): void => {
    const now = clock();
    const last = touched.get(keyId);
    if (last !== undefined && now - last < EVERY_MS) return;
    if (touched.size >= MAX_TRACKED) for (const [id, at] of touched) if (now - at >= EVERY_MS) touched.delete(id);
    touched.set(keyId, now);
    db.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) } }).catch(onError);
  };
}
