import { lastUsedRecorder, verifyKey, type KeyRowFinder } from '@anime/api-keys';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { keyRowFinder } from '../../data/find-key-row';
import { LOCAL_CALLER, type Caller } from './caller';

export type AuthMode = 'on' | 'off';

const WHY: Record<string, string> = {
  missing: 'an API key is required: send Authorization: Bearer <key>',
  malformed: 'the API key is not valid',
  unknown: 'the API key is not valid',
  expired: 'the API key has expired',
  revoked: 'the API key has been revoked',
};

/**
 * Turns a presented key into a Caller, or a sentence saying why not. Shared by REST and Socket.IO
 * so both answer the same key the same way. Every call reads the database (no cache): a revoked
 * key fails on its next use. That read is one statement by the key's unique hash, and `lastUsedAt`
 * is written at most once a minute per key, never on the request's path. A caller may read the row
 * itself (`find`), within a statement it makes anyway (the Socket.IO subscribe does).
 */
export function keyAuthenticator(deps: { db: Db; log: Logger; mode: AuthMode }) {
  const touch = lastUsedRecorder(deps.db, (error) => deps.log.warn('could not record an API key use', { error: error.message }));
  const byHash = keyRowFinder(deps.db);
  return async (presented: string | null, find: KeyRowFinder = byHash): Promise<{ caller: Caller } | { refused: string }> => {
    if (deps.mode === 'off') return { caller: LOCAL_CALLER };
    if (!presented) return { refused: WHY.missing };
    const verified = await verifyKey(deps.db, presented, new Date(), find);
    if (!verified.ok) return { refused: WHY[verified.reason] };
    touch(verified.key.id);
    return { caller: { keyId: verified.key.id, name: verified.key.name, scopes: verified.key.scopes, projects: verified.key.projects } };
  };
}

export type KeyAuthenticator = ReturnType<typeof keyAuthenticator>;
