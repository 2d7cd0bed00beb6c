/**
 * Stable codes a failed generation carries in `error.code`. Which fault gets which code is decided
 * in one place: packages/pipeline/src/faults/classify-fault.ts.
 */
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

/** Why one attempt of a render ended without the generation failing (it goes on with a new attempt). */
export const ATTEMPT_END_CODES = ['backend_removed', 'prompt_lost', 'backend_lost', 'backend_error', 'model_missing', 'backend_stuck'] as const;
export type AttemptEndCode = (typeof ATTEMPT_END_CODES)[number];
