import { STORABLE_TEXT_MESSAGE, unstorablePath } from '@anime/contracts';
import { ApiError } from './api-error';

/**
 * For a body a schema accepted while dropping what it has no field for (a character definition
 * strips unknown keys): the dropped keys and values count too. CONTRACT: a string with NUL or a
 * lone surrogate anywhere in a body is a 400, never a 201 that silently lost it.
 */
export function refuseUnstorableBody(raw: unknown): void {
  const path = unstorablePath(raw);
  if (!path) return;
  const where = path.join('.') || '(body)';
  throw new ApiError(400, 'validation_failed', `invalid request body: ${where}: ${STORABLE_TEXT_MESSAGE}`, [{ path: where, message: STORABLE_TEXT_MESSAGE }]);
}
