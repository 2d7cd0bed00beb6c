import { CHARACTER_LIMITS, type CharacterAttributes } from '@anime/contracts';
import { CharacterDomainError } from './character-domain-error';

/** The most a stored definition may hold as JSON: imports keep keys the schema has no field for. */
export const MAX_DEFINITION_JSON_BYTES = 1024 * 1024;

/**
 * The last line of defence of every version writer (API, bundle import, legacy import): the API
 * refuses these earlier with its own messages, but a version must never cost unbounded rows.
 *
 * @throws CharacterDomainError `validation_failed` naming the limit.
 */
export function assertVersionWithinLimits(content: { definition: unknown; attributes: CharacterAttributes }): void {
  const attributes = Object.keys(content.attributes).length;
  if (attributes > CHARACTER_LIMITS.attributesPerVersion) {
    throw tooLarge('attributes', `${attributes} attributes: at most ${CHARACTER_LIMITS.attributesPerVersion} attributes per version`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(content.definition) ?? '', 'utf8');
  if (bytes > MAX_DEFINITION_JSON_BYTES) throw tooLarge('definition', `the definition is ${bytes} bytes as JSON, more than the limit of ${MAX_DEFINITION_JSON_BYTES}`);
}

const tooLarge = (path: string, message: string) => new CharacterDomainError('validation_failed', message, [{ path, message }]);
