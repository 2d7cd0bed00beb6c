import type { JobEventName, JobStage, JobStatus, StageQueueKey } from '@anime/contracts';

export interface JobState {
  status: JobStatus;
  stage: JobStage;
}

export interface Transition {
  /** The states it applies from; anything else refuses it (a replay is a no-op). */
  from: readonly JobState[];
  /** The state it leads to; a missing stage keeps the stage the job was at. */
  to: { status: JobStatus; stage?: JobStage };
  /** The lifecycle event it records in the job's story, if any. */
  event?: JobEventName;
}

/** States in which a generation still has work ahead of it. */
export const ACTIVE_STATES: readonly JobState[] = [
  { status: 'queued', stage: 'requested' },
  { status: 'queued', stage: 'resolved' },
  { status: 'running', stage: 'submitted' },
  { status: 'running', stage: 'rendered' },
];

/** Where a stage may run again: failed there, or canceled there (a retry re-opens it at that stage). */
const endedAt = (...stages: JobStage[]): JobState[] => stages.flatMap((stage) => [{ status: 'failed', stage }, { status: 'canceled', stage }] as JobState[]);

/**
 * Every way a generation's status and stage may change. JobLifecycle is the only code that
 * applies them, each as one guarded UPDATE whose WHERE clause is the `from` list.
 */
export const TRANSITIONS = {
  /** The character version is resolved into conditioning. */
  resolve: { from: [{ status: 'queued', stage: 'requested' }], to: { status: 'queued', stage: 'resolved' } },
  /** The prompt is handed to a backend under a recorded prompt id (attempt 1, or the next after a retry). */
  submit: { from: [{ status: 'queued', stage: 'resolved' }], to: { status: 'running', stage: 'submitted' }, event: 'job:submitted' },
  /** The prompt goes to another backend in a new attempt (its backend vanished, died or lost it); then job:submitted again. */
  resubmit: { from: [{ status: 'running', stage: 'submitted' }], to: { status: 'running', stage: 'submitted' }, event: 'job:retrying' },
  /** The backend finished the prompt; its outputs are recorded for filing. */
  render: { from: [{ status: 'running', stage: 'submitted' }], to: { status: 'running', stage: 'rendered' } },
  /** Every output is in the library with its Asset row. */
  file: { from: [{ status: 'running', stage: 'rendered' }], to: { status: 'completed', stage: 'filed' }, event: 'job:completed' },
  fail: { from: ACTIVE_STATES, to: { status: 'failed' }, event: 'job:failed' },
  /**
   * By the orchestrator driving it: in a backend once it has taken the prompt off (cancelRequestedAt
   * records the request meanwhile), or while it waits for one.
   */
  cancel: { from: ACTIVE_STATES, to: { status: 'canceled' }, event: 'job:canceled' },
  /**
   * By the gateway, at once: queued or awaiting filing, never in a backend. A job submitted after the
   * gateway read it refuses it, and gets requestCancel instead (its prompt is taken off first).
   */
  cancelAtOnce: { from: ACTIVE_STATES.filter((s) => s.stage !== 'submitted'), to: { status: 'canceled' }, event: 'job:canceled' },
  /**
   * A failed or canceled generation runs again from the stage it stopped at (REST retry; for a
   * failed one also its stage job retried from a dashboard, see admitStage).
   */
  retryRequest: { from: endedAt('requested'), to: { status: 'queued', stage: 'requested' }, event: 'job:retrying' },
  retryRender: { from: endedAt('resolved', 'submitted'), to: { status: 'queued', stage: 'resolved' }, event: 'job:retrying' },
  retryFiling: { from: endedAt('rendered'), to: { status: 'running', stage: 'rendered' }, event: 'job:retrying' },
  /**
   * A REST retry with `{ "seed": "new" }` of a generation stopped at filing: its recorded image was
   * rendered with the old seed, so it is rendered again (a new attempt) instead of filed.
   */
  rerender: { from: endedAt('rendered'), to: { status: 'queued', stage: 'resolved' }, event: 'job:retrying' },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** Which transition re-runs a queue's stage for a failed generation. */
export const RETRY_TRANSITION: Record<StageQueueKey, TransitionName> = {
  generationRequests: 'retryRequest',
  generationRenders: 'retryRender',
  assetFiling: 'retryFiling',
};

export function allows(name: TransitionName, state: JobState): boolean {
  return (TRANSITIONS[name].from as readonly JobState[]).some((s) => s.status === state.status && s.stage === state.stage);
}

export function isActive(state: JobState): boolean {
  return ACTIVE_STATES.some((s) => s.status === state.status && s.stage === state.stage);
}
