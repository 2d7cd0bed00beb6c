export type CharacterErrorCode =
  | 'character_not_found'
  | 'character_ambiguous'
  | 'character_archived'
  | 'version_not_found'
  | 'outfit_not_found'
  | 'references_unavailable'
  | 'too_many_references'
  | 'too_many_versions'
  | 'validation_failed';

const STATUS: Record<CharacterErrorCode, number> = {
  character_not_found: 404,
  character_ambiguous: 409,
  character_archived: 409,
  version_not_found: 404,
  outfit_not_found: 400,
  references_unavailable: 400,
  // The character is full, not the request wrong: the same request succeeds once a reference is detached.
  too_many_references: 409,
  too_many_versions: 409,
  validation_failed: 400,
};

/** A refusal the caller can act on: a stable snake_case code, the HTTP status it maps to, and details. */
export class CharacterDomainError extends Error {
  readonly status: number;

  constructor(
    readonly code: CharacterErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CharacterDomainError';
    this.status = STATUS[code];
  }
}

// The two refusals most writers and readers share, worded once.
export const characterNotFound = (ref: string) => new CharacterDomainError('character_not_found', `no character matches "${ref}"`, { ref });
export const characterArchived = (slug: string) => new CharacterDomainError('character_archived', `character ${slug} is archived`, { slug });
