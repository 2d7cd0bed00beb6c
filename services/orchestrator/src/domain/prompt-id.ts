import { createHash } from 'node:crypto';

/**
 * The ComfyUI prompt id of one attempt of a job: a UUID (current ComfyUI refuses any other
 * caller-supplied id) derived from the job id and attempt number, so a restarted orchestrator
 * finds the prompt it submitted before the crash.
 */
export function promptIdFor(jobId: string, attempt: number): string {
  const hex = createHash('sha1').update(`anime-prompt:${jobId}:${attempt}`).digest('hex');
  // RFC 4122 name-based layout: version 5, variant 10xx.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
