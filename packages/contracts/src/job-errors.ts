/** Stable codes a failed generation carries in `error.code`. */
export const JOB_ERROR_CODES = [
  'comfyui_validation',
  'comfyui_execution',
  'comfyui_unreachable',
  'no_capable_backend',
  'character_not_found',
  'character_archived',
  'outfit_not_found',
  'invalid_request',
  'filing_failed',
  'reference_unavailable',
  'workflow_not_found',
  'timeout',
  'canceled',
  'internal',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

export interface JobError {
  code: JobErrorCode;
  message: string;
  details?: unknown;
}
