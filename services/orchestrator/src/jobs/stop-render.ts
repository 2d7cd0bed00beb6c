import type { ComfyClient } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';
import { PromptTimedOutError, type JobEventPublisher, type JobLifecycle, type StageResult } from '@anime/pipeline';
import { isOffTheBackend, takePromptOff, type TakeOffOutcome } from '../domain/take-prompt-off';
import { CancelRequested } from './cancel-requests';

export type StopCause = 'cancel' | 'timeout';

/**
 * Why a render's following ended early, if it was ours to stop: a cancel wins over the deadline; a
 * worker shutdown (the stage's own signal) is neither: the prompt is left running for a restart to resume.
 */
export function stopCause(signals: { shutdown?: AbortSignal; cancel?: AbortSignal; deadline: AbortSignal }): StopCause | null {
  if (signals.shutdown?.aborted) return null;
  if (signals.cancel?.aborted && signals.cancel.reason instanceof CancelRequested) return 'cancel';
  if (signals.deadline.aborted) return 'timeout';
  return null;
}

export interface StopRenderContext {
  generationId: string;
  client: ComfyClient;
  promptId: string;
  lifecycle: JobLifecycle;
  events: JobEventPublisher;
  log: Logger;
  graceMs?: number;
  limitMs: number;
  /** The prompt went on running past its interrupt: the backend is stuck on it (BackendPool.markStuck). */
  onIgnored: () => void;
}

/**
 * Takes the prompt off its backend (one delete or one interrupt), waits for ComfyUI to confirm or
 * the grace to pass, then ends the generation: canceled, or failed with `timeout` (thrown, so the
 * stage worker records it through the one fault mapping). Either way the backend is free for the next job.
 */
export async function stopRender(ctx: StopRenderContext, cause: StopCause): Promise<StageResult> {
  const outcome = await takePromptOff(ctx.client, ctx.promptId, { log: ctx.log, graceMs: ctx.graceMs });
  if (outcome === 'ignored') ctx.onIgnored();
  const how = HOW[outcome];
  if (cause === 'cancel') {
    await ctx.events.publishAll([await ctx.lifecycle.cancel(ctx.generationId)]);
    ctx.log.info('render canceled', { generationId: ctx.generationId, promptId: ctx.promptId, confirmed: isOffTheBackend(outcome), outcome });
    return { outcome: `canceled; ${how}` };
  }
  if (outcome === 'lost') ctx.log.warn('timed out on a prompt its backend no longer had: lost there (a restart?) before anything noticed', { generationId: ctx.generationId, promptId: ctx.promptId, backend: ctx.client.baseUrl });
  // Nothing was taken off a prompt the backend did not have, nor of one that had ended: said so, not "taken off".
  if (outcome === 'lost' || outcome === 'ended') throw new PromptTimedOutError(`${timedOutAfter(ctx.limitMs)}; nothing was taken off ${ctx.client.baseUrl}: ${how}`);
  throw new PromptTimedOutError(`${timedOutAfter(ctx.limitMs)}; the prompt was taken off ${ctx.client.baseUrl} (${how})`);
}

/**
 * The timeout of a job whose prompt its backend no longer had (lost there, as when ComfyUI restarts),
 * found once JOB_TIMEOUT_S had run out: worded as stopRender's for a lost prompt. The job ends so
 * rather than post the prompt again, which the deadline would take off at once.
 */
export function lostPromptTimedOut(limitMs: number, backend: string): PromptTimedOutError {
  return new PromptTimedOutError(`${timedOutAfter(limitMs)}; nothing was taken off ${backend}: ${HOW.lost}`);
}

export const timedOutAfter = (limitMs: number): string => `timed out after ${Math.round(limitMs / 1000)} s (JOB_TIMEOUT_S)`;

/** What became of the prompt, as the job's error and a cancel's outcome tell it. */
const HOW: Record<TakeOffOutcome, string> = {
  interrupted: 'interrupted: ComfyUI let go of it',
  deleted: 'deleted from its queue before it ran',
  ended: 'the prompt had ended already',
  lost: 'ComfyUI no longer had the prompt: neither queued, running nor in its history (lost there, as when ComfyUI restarts)',
  ignored: 'it went on running after its interrupt: the backend takes no new prompt until it ends',
  unconfirmed: 'ComfyUI had not confirmed within the grace',
};
