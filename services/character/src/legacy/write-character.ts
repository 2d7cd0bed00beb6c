import { writeVersion, type ReferenceFileFacts } from '@anime/characters';
import { CHARACTER_LIMITS } from '@anime/contracts';
import type { Db, ReferenceKind } from '@anime/db';
import type { CharacterPlan } from './plan-character';

/** A legacy reference as its row: the stored file's facts, or for a missing image, placeholders. */
export interface ReferenceRow extends ReferenceFileFacts {
  label: string;
  kind: ReferenceKind;
  missing: boolean;
  createdAt: Date | null;
}

export interface WrittenCharacter {
  characterId: string;
  versions: number;
  attributes: number;
  references: number;
  versionReferences: number;
}

/**
 * Writes one planned character in a single transaction, so an import that fails part-way leaves
 * no half character behind and a re-run starts clean. Versions keep their planned numbers and
 * dates; every attached reference is linked to every version: the legacy system attached
 * references to the character, not to a version. Past CHARACTER_LIMITS.attachedReferences, the
 * rest come over detached (kept, as an upload's detached references are, but conditioning no job).
 */
export async function writeCharacter(db: Db, plan: CharacterPlan, slug: string, references: ReferenceRow[]): Promise<WrittenCharacter> {
  return db.$transaction(
    async (tx) => {
      const character = await tx.character.create({
        data: { slug, name: plan.name, legacyId: plan.legacyId, archivedAt: plan.archivedAt, ...(plan.createdAt ? { createdAt: plan.createdAt } : {}) },
      });
      const referenceIds: string[] = [];
      const detachedAt = new Date();
      for (const [index, { createdAt, ...reference }] of references.entries()) {
        const attached = index < CHARACTER_LIMITS.attachedReferences;
        const row = await tx.characterReference.create({
          data: { ...reference, characterId: character.id, ...(createdAt ? { createdAt } : {}), ...(attached ? {} : { detachedAt }) },
        });
        if (attached) referenceIds.push(row.id);
      }
      let attributes = 0;
      for (const version of plan.versions) {
        await writeVersion(
          tx,
          character.id,
          { definition: version.definition, attributes: Object.fromEntries(version.attributes.map((a) => [a.key, a.value])), note: version.note },
          {
            number: version.number,
            createdAt: version.createdAt ?? undefined,
            referenceIds,
            makeCurrent: version.number === plan.currentVersion,
            // Archived legacy characters come over too, with their whole history.
            allowArchived: true,
          },
        );
        attributes += version.attributes.length;
      }
      return {
        characterId: character.id,
        versions: plan.versions.length,
        attributes,
        references: references.length,
        versionReferences: referenceIds.length * plan.versions.length,
      };
    },
    { timeout: 60_000 },
  );
}
