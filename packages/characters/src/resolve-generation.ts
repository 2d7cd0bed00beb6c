import type { GenerationRequestBody, JobConditioning } from '@anime/contracts';
import type { Character, Db } from '@anime/db';
import { buildConditioning } from './build-conditioning';
import { resolveCharacter, type ResolvedVersion } from './resolve-character';

/** The parts of a generation request that decide how its character conditions it. */
export type GenerationCharacterRequest = Pick<GenerationRequestBody, 'character' | 'outfit' | 'prompt' | 'negative'>;

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
 *   `version_not_found` (see resolveCharacter) or `outfit_not_found` with `details.available`.
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
  return { character, version, conditioning };
}
