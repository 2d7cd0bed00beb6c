import type { Db } from '@anime/db';

type Tx = Db;

export function attributesRecord(rows: { key: string; value: unknown }[]): Record<string, unknown> {
  return Object.fromEntries(rows.map((a) => [a.key, a.value]));
}

export async function loadCharacterSummaries(db: Tx, options: { q?: string; limit: number; cursor?: string; archived: boolean }) {
  const rows = await db.character.findMany({
    where: {
      ...(options.archived ? {} : { archivedAt: null }),
      ...(options.q ? { OR: [{ name: { contains: options.q, mode: 'insensitive' } }, { slug: { contains: options.q.toLowerCase() } }] } : {}),
    },
    orderBy: [{ slug: 'asc' }],
    take: options.limit + 1,
    ...(options.cursor ? { cursor: { id: options.cursor }, skip: 1 } : {}),
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

export async function loadCharacterDetail(db: Tx, characterId: string) {
  const character = await db.character.findUniqueOrThrow({
    where: { id: characterId },
    include: {
      references: { where: { detachedAt: null }, orderBy: { createdAt: 'asc' } },
      _count: { select: { versions: true } },
    },
  });
  const current = await db.characterVersion.findUnique({
    where: { characterId_number: { characterId, number: character.currentVersion } },
    include: { attributes: { orderBy: { key: 'asc' } } },
  });
  return {
    id: character.id,
    slug: character.slug,
    name: character.name,
    archived: character.archivedAt !== null,
    currentVersion: current
      ? { number: current.number, definition: current.definition, attributes: attributesRecord(current.attributes), note: current.note, createdAt: current.createdAt.toISOString() }
      : null,
    versionCount: character._count.versions,
    references: character.references.map((r) => ({
      id: r.id,
      label: r.label,
      kind: r.kind,
      sha256: r.sha256,
      width: r.width,
      height: r.height,
      mime: r.mime,
      url: `/api/v1/characters/${character.slug}/references/${r.id}/file`,
      missing: r.missing,
    })),
  };
}
