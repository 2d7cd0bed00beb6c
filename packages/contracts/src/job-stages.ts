/**
 * Where a generation is in the pipeline. `status` says whether it is waiting, running or over;
 * `stage` says which step it reached, and stays where it was when the job failed or was canceled,
 * so a retry knows which stage to run again. Transitions: packages/pipeline/src/lifecycle.
 */
export const JOB_STAGES = ['requested', 'resolved', 'submitted', 'rendered', 'filed'] as const;
export type JobStage = (typeof JOB_STAGES)[number];
