import { attributesRecord, type VersionWithAttributes } from '@anime/characters';
import type { CharacterAttributes, CharacterDetail, CharacterReferenceResource, CharacterSummary, CharacterVersionResource } from '@anime/contracts';
import { literalLikePattern, type CharacterReference, type Db } from '@anime/db';
import type { LibraryStorage } from '@anime/media';
import { noticeLostReferenceFiles } from './lost-reference-files';

export function toVersionResource(version: VersionWithAttributes): CharacterVersionResource {
  return {
    number: version.number,
    definition: version.definition as Record<string, unknown>,
    attributes: attributesRecord([...version.attributes].sort((a, b) => a.key.localeCompare(b.key))) as CharacterAttributes,
    note: version.note,
    createdAt: version.createdAt.toISOString(),
  };
}

export const referenceFileUrl = (characterSlug: string, referenceId: string) =>
  `/api/v1/characters/${encodeURIComponent(characterSlug)}/references/${referenceId}/file`;

export function toReferenceResource(characterSlug: string, reference: CharacterReference): CharacterReferenceResource {
  return {
    id: reference.id,
    label: reference.label,
    kind: reference.kind,
    sha256: reference.sha256,
    width: reference.width,
    height: reference.height,
    mime: reference.mime,
    bytes: reference.bytes,
    url: referenceFileUrl(characterSlug, reference.id),
    missing: reference.missing,
    createdAt: reference.createdAt.toISOString(),
  };
}

export async function loadCharacterSummaries(db: Db, options: { q?: string; limit: number; cursor?: string; archived: boolean }): Promise<{ items: CharacterSummary[]; nextCursor: string | null }> {
  // Pages follow the slug (unique) after the cursor's, looked up whatever it is now: Prisma's
  // `cursor` + `skip: 1` would skip a live character whenever the one at the cursor was archived
  // between two pages. An unknown cursor is past the end, as it always was.
  const after = options.cursor ? await db.character.findUnique({ where: { id: options.cursor }, select: { slug: true } }) : null;
  if (options.cursor && !after) return { items: [], nextCursor: null };
  const rows = await db.character.findMany({
    where: {
      ...(after ? { slug: { gt: after.slug } } : {}),
      ...(options.archived ? {} : { archivedAt: null }),
      ...(options.q ? { OR: [{ name: { contains: literalLikePattern(options.q), mode: 'insensitive' } }, { slug: { contains: literalLikePattern(options.q.toLowerCase()) } }] } : {}),
    },
    orderBy: [{ slug: 'asc' }],
    take: options.limit + 1,
    include: { _count: { select: { references: { where: { detachedAt: null } } } } },
  });
  const page = rows.slice(0, options.limit);
  return {
    items: page.map((c) => ({
      id: c.id,
      slug: c.slug,
      name: c.name,
      currentVersion: c.currentVersion,
      archived: c.archivedAt !== null,
      referenceCount: c._count.references,
    })),
    nextCursor: rows.length > options.limit ? page[page.length - 1].id : null,
  };
}

/** The character as the contract shows it; its references' files are checked for being lost (noticeLostReferenceFiles). */
export async function loadCharacterDetail(deps: { db: Db; storage: LibraryStorage }, characterId: string): Promise<CharacterDetail> {
  const { db } = deps;
  const character = await db.character.findUniqueOrThrow({
    where: { id: characterId },
    include: {
      references: { where: { detachedAt: null }, orderBy: { createdAt: 'asc' } },
      _count: { select: { versions: true } },
    },
  });
  const current = await db.characterVersion.findUnique({
    where: { characterId_number: { characterId, number: character.currentVersion } },
    include: { attributes: true },
  });
  return {
    id: character.id,
    slug: character.slug,
    name: character.name,
    archived: character.archivedAt !== null,
    currentVersion: current ? toVersionResource(current) : null,
    versionCount: character._count.versions,
    references: (await noticeLostReferenceFiles(deps, character.references)).map((r) => toReferenceResource(character.slug, r)),
  };
}
