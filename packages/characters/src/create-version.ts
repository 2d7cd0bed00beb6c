import type { Db } from '@anime/db';
import { writeVersion, type VersionContent, type VersionWithAttributes } from './write-version';

/** Appends version N+1 of a character, linking the references attached right now, and makes it current. */
export function createVersion(db: Db, characterId: string, content: VersionContent): Promise<VersionWithAttributes> {
  return db.$transaction(
    (tx) => writeVersion(tx, characterId, content),
    // Waiting for the row lock counts against the timeout; a burst of posts must not expire.
    { maxWait: 10_000, timeout: 30_000 },
  );
}
