import { ImageDecodeError } from '@anime/media';
import { ApiError } from './api-error';

/** A decoder's refusal as the API answers it: 413 for too many pixels, 400 `invalid_image` for the rest. */
export function imageRefusal(error: unknown, what = 'the image'): unknown {
  if (!(error instanceof ImageDecodeError)) return error;
  if (error.reason === 'too_many_pixels') return new ApiError(413, 'payload_too_large', `${what}: ${error.message}`, error.details);
  return new ApiError(400, 'invalid_image', `${what}: ${error.message}`);
}
