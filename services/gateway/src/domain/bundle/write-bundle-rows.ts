import { CharacterDomainError } from '@anime/character';
import type { Db, Prisma } from '@anime/db';
import { attributeRows } from '../attribute-rows';
import type { ParsedBundle } from './parse-bundle';
import type { ImportTarget } from './resolve-import-target';
import { STORED_VERSION_CONTENT, storedVersionKey } from './stored-version-key';
import { versionContentKey } from './version-content-key';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

export interface WrittenRows {
  versionsAdded: number[];
  referencesAdded: number;
}

/**
 * The rows of one import, inside the caller's transaction. A new character gets every version
 * under its own number. An existing one, locked first as createVersion does, gets only versions
 * whose content it lacks, appended as N+1, N+2, ...; references are matched by sha256.
 */
export async function writeBundleRows(tx: Tx, target: ImportTarget, bundle: ParsedBundle, paths: Map<string, string>): Promise<WrittenRows> {
  const fresh = target.kind === 'create';
  if (fresh) await tx.character.create({ data: { id: target.id, slug: target.slug, name: bundle.character.name, currentVersion: 0 } });
  const [locked] = await tx.$queryRaw<{ slug: string; archivedAt: Date | null }[]>`
    SELECT "slug", "archivedAt" FROM "characters" WHERE "id" = ${target.id}::uuid FOR UPDATE`;
  // Archiving may have happened since the target was chosen.
  if (locked.archivedAt) throw new CharacterDomainError('character_archived', `character ${locked.slug} is archived`, { slug: locked.slug });

  const referenceIds = new Map((await tx.characterReference.findMany({ where: { characterId: target.id }, select: { id: true, sha256: true } })).map((r) => [r.sha256, r.id]));
  let referencesAdded = 0;
  for (const { meta, width, height } of bundle.references) {
    if (referenceIds.has(meta.sha256)) continue;
    const path = paths.get(meta.sha256);
    if (!path) throw new Error(`reference ${meta.sha256} appeared on the character while its file was not written`);
    const row = await tx.characterReference.create({
      data: {
        characterId: target.id,
        label: meta.label,
        kind: meta.kind,
        path,
        sha256: meta.sha256,
        bytes: meta.bytes,
        width,
        height,
        mime: meta.mime,
        detachedAt: meta.detached ? new Date() : null,
        createdAt: new Date(meta.createdAt),
      },
    });
    referenceIds.set(meta.sha256, row.id);
    referencesAdded += 1;
  }

  const existing = await tx.characterVersion.findMany({ where: { characterId: target.id }, include: STORED_VERSION_CONTENT });
  const contents = new Set(existing.map(storedVersionKey));
  let next = Math.max(0, ...existing.map((v) => v.number)) + 1;
  const versionsAdded: number[] = [];
  for (const version of bundle.versions) {
    const key = versionContentKey(version);
    if (!fresh && contents.has(key)) continue;
    contents.add(key);
    const number = fresh ? version.number : next++;
    await tx.characterVersion.create({
      data: {
        characterId: target.id,
        number,
        definition: version.definition as Prisma.InputJsonObject,
        note: version.note,
        // A version keeps its date only where it keeps its number: an appended one is new here.
        ...(fresh ? { createdAt: version.createdAt } : {}),
        attributes: { create: attributeRows(version.attributes) },
        references: { create: version.referenceSha256s.map((sha) => ({ referenceId: referenceIds.get(sha)! })) },
      },
    });
    versionsAdded.push(number);
  }
  const current = fresh ? bundle.character.currentVersion : versionsAdded.at(-1);
  if (current !== undefined) await tx.character.update({ where: { id: target.id }, data: { currentVersion: current } });
  return { versionsAdded, referencesAdded };
}
