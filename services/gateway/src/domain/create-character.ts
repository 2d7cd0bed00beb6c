import { createCharacter as createCharacterWithVersion, isUniqueViolation, safeName } from '@anime/characters';
import type { Db } from '@anime/db';
import { ApiError } from '../http/api-error';
import { slugSchema, type CreateCharacterBody } from '../http/character-bodies';

/** `POST /api/v1/characters`: the slug defaults to the name's; a taken one is a 409, never a 500. */
export async function createCharacter(db: Db, body: CreateCharacterBody): Promise<{ id: string; slug: string }> {
  const slug = body.slug ?? safeName(body.name, 'character');
  // A slug taken from the name meets the rules of one given: a name that is an id (uuid) would
  // otherwise make a slug no bundle import or `slug` field accepts.
  if (body.slug === undefined && !slugSchema.safeParse(slug).success) {
    const message = `the slug made from the name ("${slug}") looks like an id (uuid); choose one with "slug"`;
    throw new ApiError(400, 'validation_failed', `invalid request body: slug: ${message}`, [{ path: 'slug', message }]);
  }
  try {
    return await createCharacterWithVersion(db, { slug, name: body.name, version: body });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ApiError(409, 'slug_taken', `slug "${slug}" is already taken; choose another with "slug"`, { slug });
    }
    throw error;
  }
}
