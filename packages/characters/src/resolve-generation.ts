import type { GenerationRequestBody, JobConditioning } from '@anime/contracts';
import type { Character, Db } from '@anime/db';
import { buildConditioning } from './build-conditioning';
import { CharacterDomainError } from './character-domain-error';
import { resolveCharacter, type ResolvedVersion } from './resolve-character';

/** The parts of a generation request that decide how its character conditions it. */
export type GenerationCharacterRequest = Pick<GenerationRequestBody, 'character' | 'outfit' | 'prompt' | 'negative'> & Partial<Pick<GenerationRequestBody, 'references'>>;

export interface ResolvedGeneration {
  character: Character;
  version: ResolvedVersion;
  /** What the character service records on the job, for the orchestrator and the file-organizer. */
  conditioning: JobConditioning;
}

/**
 * The character version a generation uses and the conditioning it gets from it. Reads only, so
 * the gateway can call it to refuse a bad request before writing anything, and the character
 * service to record what the job will run with: both get the same answer from the same code.
 *
 * @throws CharacterDomainError `character_not_found`, `character_ambiguous`, `character_archived`,
 *   `version_not_found` (see resolveCharacter), `outfit_not_found` with `details.available`, or
 *   `references_unavailable` when the request demands conditioning by references the version lacks.
 */
export async function resolveGeneration(db: Db, request: GenerationCharacterRequest): Promise<ResolvedGeneration> {
  const { character, version } = await resolveCharacter(db, request.character);
  const conditioning = buildConditioning({
    // Stored versions were validated against the definition schema when written.
    definition: version.definition as never,
    attributes: version.attributes,
    outfit: request.outfit,
    userPrompt: request.prompt,
    userNegative: request.negative,
    references: version.references,
  });
  if (request.references === 'required' && conditioning.references.length === 0) {
    throw new CharacterDomainError(
      'references_unavailable',
      `"references": "required" but ${character.slug} version ${version.number} has no reference images`,
      { character: character.slug, version: version.number },
    );
  }
  return { character, version, conditioning };
}
