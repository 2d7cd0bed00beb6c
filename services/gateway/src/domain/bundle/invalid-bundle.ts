import { ApiError } from '../../http/api-error';

/** A bundle refused before anything was written; `entry` names the offending file when there is one. */
export function invalidBundle(message: string, entry?: string): ApiError {
  return new ApiError(400, 'invalid_bundle', message, entry === undefined ? undefined : { entry });
}
