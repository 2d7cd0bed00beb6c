import { randomUUID } from 'node:crypto';
import { characterArchived } from '@anime/characters';
import type { Character, Db } from '@anime/db';
import { ApiError } from '../../http/api-error';
import { slugSchema } from '../../http/character-bodies';
import type { ParsedBundle } from './parse-bundle';
import { STORED_VERSION_CONTENT, storedVersionKey } from './stored-version-key';
import { versionContentKey } from './version-content-key';

/** Where an import goes: into the character it came from, or a new one. */
export type ImportTarget = { kind: 'merge'; id: string; slug: string } | { kind: 'create'; id: string; slug: string };

/**
 * Which character a bundle is:
 * - without `as`, the character with the bundle's id, whatever its slug now;
 * - else the character holding the slug asked for (`as`, or the bundle's own), when it is the
 *   bundle's character or shares its version 1 content (an earlier import of the same bundle);
 * - a slug held by any other character is a 409 `slug_taken`, never a merge;
 * - otherwise a new character under that slug, keeping the bundle's id unless a character here
 *   has it already (importing a copy with `as`).
 */
export async function resolveImportTarget(db: Db, bundle: ParsedBundle, as: string | undefined): Promise<ImportTarget> {
  const same = await db.character.findUnique({ where: { id: bundle.character.id } });
  if (same && (as === undefined || as === same.slug)) return merge(same);
  const slug = as ?? bundle.character.slug;
  const holder = await db.character.findUnique({ where: { slug } });
  if (holder) {
    if (await sharesFirstVersion(db, holder.id, bundle)) return merge(holder);
    throw slugConflict(slug);
  }
  if (as === undefined) {
    const valid = slugSchema.safeParse(slug);
    if (!valid.success) {
      const why = valid.error.issues.map((issue) => issue.message).join('; ');
      throw new ApiError(400, 'invalid_bundle', `the bundle's slug "${slug}" cannot name a new character here (${why}); import it under another with ?as=<new-slug>`, {
        entry: 'character.json',
        slug,
      });
    }
  }
  return { kind: 'create', id: same ? randomUUID() : bundle.character.id, slug };
}

function merge(character: Character): ImportTarget {
  if (character.archivedAt) throw characterArchived(character.slug);
  return { kind: 'merge', id: character.id, slug: character.slug };
}

async function sharesFirstVersion(db: Db, characterId: string, bundle: ParsedBundle): Promise<boolean> {
  const first = await db.characterVersion.findUnique({ where: { characterId_number: { characterId, number: 1 } }, include: STORED_VERSION_CONTENT });
  return first !== null && bundle.versions.length > 0 && storedVersionKey(first) === versionContentKey(bundle.versions[0]);
}

export const slugConflict = (slug: string) =>
  new ApiError(409, 'slug_taken', `slug "${slug}" belongs to another character; import under a new slug with ?as=<new-slug>`, { slug });
