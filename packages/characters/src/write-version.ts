import type { CharacterAttributes } from '@anime/contracts';
import type { CharacterAttribute, CharacterVersion, Prisma } from '@anime/db';
import { attributeRows } from './attribute-rows';
import { assertRoomForVersion, assertVersionReferences } from './character-capacity';
import { lockCharacter } from './lock-character';
import type { Tx } from './transaction';
import { assertVersionWithinLimits } from './version-limits';

/** What a version holds; everything else about it (number, date, links) is the writer's to decide. */
export interface VersionContent {
  /** Stored as given: an import keeps keys the schema has no field for. */
  definition: Record<string, unknown>;
  attributes: CharacterAttributes;
  note?: string | null;
}

export interface WriteVersionOptions {
  /** Keep this number instead of taking N+1: an import re-creating a new character's history. */
  number?: number;
  /** Keep this date instead of now: only where the number is kept too, as history. */
  createdAt?: Date;
  /** The references the version is made with; by default the ones attached to the character right now. */
  referenceIds?: string[];
  /** Make it the character's current version (default true). */
  makeCurrent?: boolean;
  /** Write to an archived character too: the legacy import brings archived characters over whole. */
  allowArchived?: boolean;
}

export type VersionWithAttributes = CharacterVersion & { attributes: CharacterAttribute[] };

/**
 * The one writer of a character version, inside the caller's transaction. The character row is
 * locked first (lockCharacter), so concurrent writers queue behind each other and each sees the
 * number the previous one took: N+1 and N+2, never a unique-constraint failure.
 *
 * @throws CharacterDomainError `character_archived` unless `allowArchived` (see lockCharacter);
 *   `validation_failed` past a version's limits (see assertVersionWithinLimits); `too_many_versions`
 *   past the versions a character may have, `too_many_references` for a longer `referenceIds` list
 *   than may be attached (see character-capacity).
 */
export async function writeVersion(tx: Tx, characterId: string, content: VersionContent, options: WriteVersionOptions = {}): Promise<VersionWithAttributes> {
  assertVersionWithinLimits(content);
  const character = await lockCharacter(tx, characterId, options);
  const number = options.number ?? (await nextNumber(tx, characterId));
  assertRoomForVersion(character, number);
  // A list given is checked; the attached ones are within the limit as attaching keeps them so.
  if (options.referenceIds) assertVersionReferences(character, new Set(options.referenceIds).size);
  const referenceIds =
    options.referenceIds ?? (await tx.characterReference.findMany({ where: { characterId, detachedAt: null }, select: { id: true } })).map((r) => r.id);
  const version = await tx.characterVersion.create({
    data: {
      characterId,
      number,
      definition: content.definition as Prisma.InputJsonObject,
      note: content.note ?? null,
      ...(options.createdAt ? { createdAt: options.createdAt } : {}),
      attributes: { create: attributeRows(content.attributes) },
      references: { create: referenceIds.map((referenceId) => ({ referenceId })) },
    },
    include: { attributes: true },
  });
  if (options.makeCurrent ?? true) await tx.character.update({ where: { id: characterId }, data: { currentVersion: number } });
  return version;
}

async function nextNumber(tx: Tx, characterId: string): Promise<number> {
  const latest = await tx.characterVersion.aggregate({ where: { characterId }, _max: { number: true } });
  return (latest._max.number ?? 0) + 1;
}
