import { CharacterDomainError } from '@anime/character';
import type { Db, Prisma } from '@anime/db';
import type { VersionBody } from '../http/character-bodies';
import { attributeRows } from './attribute-rows';
import type { VersionWithAttributes } from './character-resources';

/**
 * Appends version N+1 linking the references attached right now, and makes it current.
 * The character row is locked first, so concurrent posts queue behind each other and each sees
 * the number the previous one took: N+1 and N+2, never a unique-constraint 500.
 */
export async function createVersion(db: Db, characterId: string, body: VersionBody): Promise<VersionWithAttributes> {
  return db.$transaction(
    async (tx) => {
      const [locked] = await tx.$queryRaw<{ slug: string; archivedAt: Date | null }[]>`
        SELECT "slug", "archivedAt" FROM "characters" WHERE "id" = ${characterId}::uuid FOR UPDATE`;
      // Archiving may have happened between the route's lookup and this lock.
      if (locked.archivedAt) {
        throw new CharacterDomainError('character_archived', `character ${locked.slug} is archived`, { slug: locked.slug });
      }
      const latest = await tx.characterVersion.aggregate({ where: { characterId }, _max: { number: true } });
      const number = (latest._max.number ?? 0) + 1;
      const attached = await tx.characterReference.findMany({ where: { characterId, detachedAt: null }, select: { id: true } });
      const version = await tx.characterVersion.create({
        data: {
          characterId,
          number,
          definition: body.definition as Prisma.InputJsonObject,
          note: body.note ?? null,
          attributes: { create: attributeRows(body.attributes) },
          references: { create: attached.map((r) => ({ referenceId: r.id })) },
        },
        include: { attributes: true },
      });
      await tx.character.update({ where: { id: characterId }, data: { currentVersion: number } });
      return version;
    },
    // Waiting for the row lock counts against the timeout; a burst of posts must not expire.
    { maxWait: 10_000, timeout: 30_000 },
  );
}
