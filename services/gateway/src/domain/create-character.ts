import { safeName } from '@anime/character';
import type { Db, Prisma } from '@anime/db';
import { ApiError } from '../http/api-error';
import type { CreateCharacterBody } from '../http/character-bodies';
import { attributeRows } from './attribute-rows';
import { isUniqueViolation } from './unique-violation';

/** Creates a character with its version 1 in one transaction; a taken slug is a 409, never a 500. */
export async function createCharacter(db: Db, body: CreateCharacterBody): Promise<{ id: string; slug: string }> {
  const slug = body.slug ?? safeName(body.name, 'character');
  try {
    return await db.$transaction(async (tx) => {
      const character = await tx.character.create({ data: { slug, name: body.name, currentVersion: 1 } });
      await tx.characterVersion.create({
        data: {
          characterId: character.id,
          number: 1,
          definition: body.definition as Prisma.InputJsonObject,
          note: body.note ?? null,
          attributes: { create: attributeRows(body.attributes) },
        },
      });
      return { id: character.id, slug: character.slug };
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ApiError(409, 'slug_taken', `slug "${slug}" is already taken; choose another with "slug"`, { slug });
    }
    throw error;
  }
}
