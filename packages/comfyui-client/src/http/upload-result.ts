import { ComfyHttpError } from '../errors/comfy-http-error';
import { UNNAMEABLE } from '../run/read-history';
import type { UploadResult } from '../types';

/** Longer than any path a file system gives a file in ComfyUI's input folder. */
const MAX_NAME_CHARS = 1_024;

const usableName = (value: unknown): value is string => typeof value === 'string' && value.length <= MAX_NAME_CHARS && !UNNAMEABLE.test(value);

/**
 * What `POST /upload/image` answered, as the name a LoadImage node is to be given: `{ name, subfolder,
 * type }` (newer servers add more). A name that is missing, not text, or one no file has (NUL, a lone
 * surrogate) could be neither used in a graph nor recorded, so it is ComfyUI breaking the protocol.
 */
export function uploadResult(answer: Record<string, unknown>, askedType: string, baseUrl: string): UploadResult {
  const { name, subfolder = '', type = askedType } = answer;
  if (!usableName(name) || name === '' || !usableName(subfolder) || typeof type !== 'string') {
    throw new ComfyHttpError('POST', '/upload/image', 200, answer, `ComfyUI at ${baseUrl} answered POST /upload/image without a usable file name`);
  }
  return { name, subfolder, type };
}
