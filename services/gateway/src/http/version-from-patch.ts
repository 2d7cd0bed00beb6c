import { applyMergePatch, attributesRecord } from '@anime/characters';
import type { Db } from '@anime/db';
import { ApiError } from './api-error';
import { keepImportedKeys } from './keep-imported-keys';
import { versionBodySchema, versionPatchBodySchema, type VersionBody } from './character-bodies';
import { parseOr400, zodDetails } from './parse-body';

/**
 * The patch form of a new version: version `basedOn`'s `{ definition, attributes }` with the
 * merge patch applied, validated exactly as a full version body is, so a patch can produce nothing
 * that a full body could not.
 *
 * @throws ApiError 400 `validation_failed`: a malformed patch body, an unknown `basedOn`, or a
 *   result that fails validation (the message says the patch produced it).
 */
export async function versionFromPatch(db: Db, character: { id: string; slug: string }, raw: unknown): Promise<VersionBody> {
  const body = parseOr400(versionPatchBodySchema, raw);
  const base = await db.characterVersion.findUnique({
    where: { characterId_number: { characterId: character.id, number: body.basedOn } },
    include: { attributes: true },
  });
  if (!base) {
    const message = `basedOn: character ${character.slug} has no version ${body.basedOn}`;
    throw new ApiError(400, 'validation_failed', `invalid request body: ${message}`, [{ path: 'basedOn', message: `character ${character.slug} has no version ${body.basedOn}` }]);
  }
  const patched = applyMergePatch({ definition: base.definition, attributes: attributesRecord(base.attributes) }, body.patch) as Record<string, unknown>;
  const result = versionBodySchema.safeParse({ definition: patched.definition, attributes: patched.attributes ?? {}, note: body.note });
  if (result.success) return { ...result.data, definition: keepImportedKeys(result.data.definition, patched.definition, base.definition) as VersionBody['definition'] };
  const details = zodDetails(result.error);
  throw new ApiError(
    400,
    'validation_failed',
    `the patch on version ${body.basedOn} produced an invalid version: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
    details,
  );
}
