import type { ComfyClient } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';
import { PromptTimedOutError, type JobEventPublisher, type JobLifecycle, type StageResult } from '@anime/pipeline';
import { takePromptOff } from '../domain/take-prompt-off';
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
  const how =
    outcome === 'confirmed'
      ? 'ComfyUI let go of it'
      : outcome === 'ignored'
        ? 'it went on running after its interrupt: the backend takes no new prompt until it ends'
        : 'ComfyUI had not confirmed within the grace';
  if (cause === 'cancel') {
    await ctx.events.publishAll([await ctx.lifecycle.cancel(ctx.generationId)]);
    ctx.log.info('render canceled', { generationId: ctx.generationId, promptId: ctx.promptId, confirmed: outcome === 'confirmed' });
    return { outcome: `canceled; ${how}` };
  }
  throw new PromptTimedOutError(`timed out after ${Math.round(ctx.limitMs / 1000)} s (JOB_TIMEOUT_S); the prompt was taken off ${ctx.client.baseUrl} (${how})`);
}
