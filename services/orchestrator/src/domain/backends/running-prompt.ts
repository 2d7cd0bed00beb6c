import type { QueueState } from '@anime/comfyui-client';

/** The most of a prompt id kept for a message: any client may name its prompts, at any length. */
const PROMPT_ID_SHOWN_CHARS = 64;

/**
 * The id of the prompt ComfyUI's GET /queue shows running (whoever sent it), as `client` reads it
 * within its own timeout; undefined when nothing runs, or when the route does not answer as ComfyUI
 * does: not in time, refused, a 5xx, not a JSON object, a `queue_running` that is no list of
 * entries, an answer past the client's bound. It never rejects.
 *
 * ComfyUI answers /queue from its own lists, without asking torch anything (unlike /system_stats):
 * an answer naming a running prompt says its server is alive and its worker at work.
 */
export async function runningPrompt(client: { queue(): Promise<QueueState> }): Promise<string | undefined> {
  try {
    const { running } = await client.queue();
    const id = running.find((entry) => typeof entry.promptId === 'string' && entry.promptId !== '')?.promptId;
    return id === undefined || id.length <= PROMPT_ID_SHOWN_CHARS ? id : `${id.slice(0, PROMPT_ID_SHOWN_CHARS)}…`;
  } catch {
    return undefined;
  }
}
