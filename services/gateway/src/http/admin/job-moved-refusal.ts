import { ErrorCode } from 'bullmq';
import { ApiError } from '../api-error';

/**
 * BullMQ's refusal of a command on a job that moved since the board looked at it, as the board's
 * answer: 409 `job_state_changed` when it is no longer `expected` (another admin's retry or a double
 * click took it, or the pipeline moved it on: BullMQ's JobNotInState code), 404 `job_not_found` when
 * it was removed (JobNotExist). Null for any other failure. The code, not a later read of the job's
 * state: the job another retry took may have failed again by then.
 */
export function jobMovedRefusal(error: unknown, jobId: string, expected: string): ApiError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === ErrorCode.JobNotExist) return new ApiError(404, 'job_not_found', `job ${jobId} was removed since the board showed it`, { jobId });
  if (code === ErrorCode.JobNotInState) {
    return new ApiError(409, 'job_state_changed', `job ${jobId} is no longer ${expected}: another retry (or the pipeline) moved it since the board showed it; reload the board`, { jobId, expected });
  }
  return null;
}
