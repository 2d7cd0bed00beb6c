import { applyMergePatch, attributesRecord } from '@anime/characters';
import { FINITE_NUMBERS_MESSAGE, jsonIsStorable, jsonNumbersAreFinite, STORABLE_TEXT_MESSAGE } from '@anime/contracts';
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
 *   result that fails validation (the message says the patch produced it), kept keys included.
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
  if (!result.success) throw producedInvalid(body.basedOn, zodDetails(result.error));
  const definition = keepImportedKeys(result.data.definition, patched.definition, base.definition) as VersionBody['definition'];
  // The kept keys bypass the schema, so the patch may have set them to what cannot be stored as sent.
  const keptKeys = (message: string) => producedInvalid(body.basedOn, [{ path: 'definition', message: `keys the schema has no field for (kept from an import) ${message}` }]);
  if (!jsonIsStorable(definition)) throw keptKeys(STORABLE_TEXT_MESSAGE);
  if (!jsonNumbersAreFinite(definition)) throw keptKeys(FINITE_NUMBERS_MESSAGE);
  return { ...result.data, definition };
}

function producedInvalid(basedOn: number, details: { path: string; message: string }[]): ApiError {
  return new ApiError(400, 'validation_failed', `the patch on version ${basedOn} produced an invalid version: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}
