import { JOB_STAGES, PIPELINE_CATALOG, queueForStage, type JobStage, type StageQueueKey } from '@anime/contracts';
import { allows, isActive, RETRY_TRANSITION, type JobState } from './transitions';

export type StageDecision =
  /** The generation is at this queue's stage: do the work. */
  | { action: 'run' }
  /** The generation already moved past this stage: make sure the queue of its stage has it. */
  | { action: 'forward'; to: StageQueueKey }
  /** Over, and this was not a retry: nothing to do (a duplicate or stale delivery). */
  | { action: 'done'; outcome: string }
  /** A failed generation whose stage job was retried: re-open it at this stage, then run. */
  | { action: 'reopen' }
  /** The state does not allow this stage to run; the queue job fails with this reason. */
  | { action: 'refuse'; reason: string };

const order = (stage: JobStage) => JOB_STAGES.indexOf(stage);

/**
 * Decides, from the generation's row alone, what a stage job may do. `retried` is true when the
 * queue job ran before (BullMQ `attemptsMade` > 0: a backoff retry or a dashboard's `retry()`):
 * such a run never silently completes on a generation that is over.
 */
export function admitStage(state: JobState & { errorCode?: string | null }, queue: StageQueueKey, retried: boolean): StageDecision {
  const stages = PIPELINE_CATALOG[queue].stages as readonly JobStage[];
  const name = PIPELINE_CATALOG[queue].name;
  if (isActive(state)) {
    if (stages.includes(state.stage)) return { action: 'run' };
    const to = queueForStage(state.stage);
    if (to && order(state.stage) > Math.max(...stages.map(order))) return { action: 'forward', to };
    return { action: 'refuse', reason: `the generation is at stage ${state.stage}, before ${name} can work on it` };
  }
  if (state.status === 'failed') {
    if (allows(RETRY_TRANSITION[queue], state)) {
      // A fresh duplicate of a request names a generation that failed: it gets that generation back.
      if (queue === 'generationRequests' && !retried) return { action: 'done', outcome: 'already failed' };
      return { action: 'reopen' };
    }
    const at = queueForStage(state.stage);
    return {
      action: 'refuse',
      reason: `the generation failed at stage ${state.stage} (${state.errorCode ?? 'unknown'}), which ${name} does not run` +
        (at ? `; retry its ${PIPELINE_CATALOG[at].name} job instead` : ''),
    };
  }
  if (retried) {
    // A canceled generation runs again only when asked for explicitly, never by a stage job's retry.
    const hint = state.status === 'canceled' ? '; POST /api/v1/generations/<id>/retry runs it again' : '';
    return { action: 'refuse', reason: `the generation is ${state.status}: ${name} has nothing to run again${hint}` };
  }
  return { action: 'done', outcome: `already ${state.status}` };
}
