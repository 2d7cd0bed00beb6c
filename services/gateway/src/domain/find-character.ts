import type { Db } from '@anime/db';
import { notFound } from '../http/api-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A character by id or slug, archived ones included (routes decide what archived means). */
export async function findCharacterOr404(db: Db, idOrSlug: string) {
  const character = UUID.test(idOrSlug)
    ? await db.character.findUnique({ where: { id: idOrSlug } })
    : await db.character.findUnique({ where: { slug: idOrSlug } });
  if (!character) throw notFound(`character "${idOrSlug}"`);
  return character;
}
