import { CharacterDomainError } from '@anime/character';
import type { Db } from '@anime/db';
import { ApiError } from '../../http/api-error';
import type { ParsedBundle } from './parse-bundle';

/** Where an import goes: into the character it came from, or a new one. */
export type ImportTarget = { kind: 'merge'; id: string; slug: string } | { kind: 'create'; id: string; slug: string };

/**
 * The bundle's id decides first: a character with that id is the same character, whatever its
 * slug now, and gets the versions it lacks. Otherwise a new character is made under the bundle's
 * slug, or under `as` when given; a slug held by another character is a 409, never a merge.
 */
export async function resolveImportTarget(db: Db, bundle: ParsedBundle, as: string | undefined): Promise<ImportTarget> {
  const same = await db.character.findUnique({ where: { id: bundle.character.id } });
  if (same) {
    if (same.archivedAt) throw new CharacterDomainError('character_archived', `character ${same.slug} is archived`, { slug: same.slug });
    return { kind: 'merge', id: same.id, slug: same.slug };
  }
  const slug = as ?? bundle.character.slug;
  if (await db.character.findUnique({ where: { slug }, select: { id: true } })) throw slugConflict(slug);
  return { kind: 'create', id: bundle.character.id, slug };
}

export const slugConflict = (slug: string) =>
  new ApiError(409, 'slug_taken', `slug "${slug}" belongs to another character; import under a new slug with ?as=<new-slug>`, { slug });
