import { createCharacter as createCharacterWithVersion, isUniqueViolation, safeName } from '@anime/characters';
import type { Db } from '@anime/db';
import { ApiError } from '../http/api-error';
import type { CreateCharacterBody } from '../http/character-bodies';

/** `POST /api/v1/characters`: the slug defaults to the name's; a taken one is a 409, never a 500. */
export async function createCharacter(db: Db, body: CreateCharacterBody): Promise<{ id: string; slug: string }> {
  const slug = body.slug ?? safeName(body.name, 'character');
  try {
    return await createCharacterWithVersion(db, { slug, name: body.name, version: body });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ApiError(409, 'slug_taken', `slug "${slug}" is already taken; choose another with "slug"`, { slug });
    }
    throw error;
  }
}
