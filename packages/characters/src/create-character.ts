import type { Db } from '@anime/db';
import { writeVersion, type VersionContent } from './write-version';

export interface NewCharacter {
  slug: string;
  name: string;
  /** Its version 1. */
  version: VersionContent;
}

/**
 * Creates a character with its version 1 in one transaction, so no character is ever left
 * without a version. A taken slug surfaces as the unique violation (see isUniqueViolation):
 * what to tell the caller is the caller's business.
 */
export function createCharacter(db: Db, input: NewCharacter): Promise<{ id: string; slug: string }> {
  return db.$transaction(async (tx) => {
    const character = await tx.character.create({ data: { slug: input.slug, name: input.name } });
    await writeVersion(tx, character.id, input.version);
    return { id: character.id, slug: character.slug };
  });
}
