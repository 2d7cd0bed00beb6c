import { readableQueue, type ComfyClient } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';

/** How long to wait for ComfyUI to let go of an interrupted prompt: it stops at the sampler's next step (4.7 s on CPU). */
export const DEFAULT_STOP_GRACE_MS = 15_000;
const POLL_MS = 100;

export type TakeOffOutcome =
  /** It waited in ComfyUI's queue, and was deleted from it before it ran. */
  | 'deleted'
  /** It ran, was interrupted, and ComfyUI let go of it. */
  | 'interrupted'
  /** It was no longer queued nor running with nothing of ours sent, and ComfyUI's history holds it: it had ended on its own. */
  | 'ended'
  /**
   * ComfyUI does not know the prompt: neither queued, running nor in its history, with nothing of
   * ours sent. It was lost there (a restarted ComfyUI has lost its queue and history), so nothing was
   * taken off; ComfyUI never let go of anything.
   */
  | 'lost'
  /** Still there when the grace ran out; the backend will finish it on its own (its result is not used). */
  | 'unconfirmed'
  /**
   * Interrupted while it ran, and still running when the grace ran out: a node that does not return
   * to ComfyUI's interrupt checks, or a dead worker thread (comfyui-protocol.md §10). Nothing queued
   * behind it runs there meanwhile.
   */
  | 'ignored';

/** ComfyUI no longer holds the prompt (whatever the reason): the backend is free of it. */
export const isOffTheBackend = (outcome: TakeOffOutcome): boolean => outcome !== 'unconfirmed' && outcome !== 'ignored';

/**
 * Takes one prompt off a backend, whatever the others there are doing: deleted from ComfyUI's queue
 * while it waits there (`POST /queue { delete }`), interrupted once if it runs (`POST /interrupt
 * { prompt_id }`), then waits until ComfyUI's queue no longer holds it, at most `graceMs`. Shared by
 * cancel and JOB_TIMEOUT_S. A prompt moving from pending to running between two looks is interrupted then.
 * A delete or interrupt whose request failed is sent again at the next look (once answered, not again).
 */
export async function takePromptOff(client: ComfyClient, promptId: string, options: { log: Logger; graceMs?: number }): Promise<TakeOffOutcome> {
  const until = Date.now() + (options.graceMs ?? DEFAULT_STOP_GRACE_MS);
  /** Whether ComfyUI answered the delete: one that failed (a transient error) is sent again at the next look. */
  let deleted = false;
  /**
   * Whether ComfyUI answered the interrupt: one that failed (never reached it) says nothing of a stuck
   * worker, and is sent again at the next look that shows the prompt running, within the grace.
   */
  let interrupted = false;
  /** Whether the last /queue read showed it running. */
  let running = false;
  /** Whether a delete was sent, answered or not (one whose answer was lost may still have taken it off). */
  let deleteSent = false;
  for (;;) {
    try {
      const queue = await readableQueue(client);
      if (!queue) return await takeOffUnseen(client, promptId, options.log);
      const isRunning = queue.running.some((item) => item.promptId === promptId);
      const isPending = queue.pending.some((item) => item.promptId === promptId);
      running = isRunning;
      if (!isRunning && !isPending) return interrupted ? 'interrupted' : await whyGone(client, promptId, deleteSent);
      if (isPending && !deleted) {
        deleteSent = true;
        await client.deleteFromQueue([promptId]);
        deleted = true;
      } else if (isRunning && !interrupted) {
        await client.interrupt(promptId);
        interrupted = true;
      }
    } catch (error) {
      options.log.warn('could not take the prompt off the backend yet', { promptId, baseUrl: client.baseUrl, error: (error as Error).message });
    }
    if (Date.now() >= until) {
      options.log.warn('the backend still holds the prompt after the grace; going on without it', { promptId, baseUrl: client.baseUrl, runningPastInterrupt: interrupted && running });
      return interrupted && running ? 'ignored' : 'unconfirmed';
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Gone from ComfyUI's queue with no interrupt of ours answered: its history tells a prompt that ran
 * to its end from one that never ran. One that never ran was deleted by us (`deleteSent`), or else
 * lost: ComfyUI never held it, or lost it (a restart empties both its queue and its history). A
 * history that cannot be read is thrown, and the next look asks again.
 */
async function whyGone(client: ComfyClient, promptId: string, deleteSent: boolean): Promise<'ended' | 'deleted' | 'lost'> {
  if (await client.history(promptId)) return 'ended';
  return deleteSent ? 'deleted' : 'lost';
}

/**
 * /queue answered past the client's bound (a busy server: every waiting prompt's graph): the prompt
 * is deleted from the queue in case it waits there, and told gone (ended) only if its history shows it ended.
 * Whether it runs cannot be seen, so it is not interrupted (a server older than 2025-09 would stop
 * whatever runs), and no grace is waited for what cannot be observed.
 */
async function takeOffUnseen(client: ComfyClient, promptId: string, log: Logger): Promise<TakeOffOutcome> {
  log.warn('comfyui /queue is too large to read: the prompt is deleted from the queue, and a running one is left to finish', { promptId, baseUrl: client.baseUrl });
  await client.deleteFromQueue([promptId]);
  return (await client.history(promptId)) ? 'ended' : 'unconfirmed';
}
