import { ComfyHttpError } from '../errors/comfy-http-error';
import { isJsonObject } from '../json-object';
import type { QueueEntry, QueueState } from '../types';

/** A queued prompt as ComfyUI lists it, `[number, prompt_id, prompt, extra_data, outputs_to_execute]`: a list whose prompt_id is text. */
const isQueueItem = (item: unknown): item is unknown[] => Array.isArray(item) && typeof item[1] === 'string';

/** One item, its extra_data and outputs read as far as they go (an odd one as none: nothing is done with them but look). */
function queueEntry(item: unknown[]): QueueEntry {
  const [number, promptId, prompt, extraData, outputsToExecute] = item;
  return {
    number: number as number,
    promptId: promptId as string,
    prompt: prompt as QueueEntry['prompt'],
    extraData: isJsonObject(extraData) ? extraData : {},
    outputsToExecute: Array.isArray(outputsToExecute) ? outputsToExecute : [],
  };
}

/**
 * What `GET /queue` answered, as the prompts running and pending. A list left out is empty (as
 * ever); one that is not a list of queued prompts (null, an object, items that are not lists or
 * name no prompt by text) is ComfyUI breaking the protocol: read as empty or short, a prompt it
 * holds would be taken for lost, so it is a ComfyHttpError (as an answer that is not an object is),
 * never a TypeError, which the orchestrator takes for an internal fault of ours and tries again.
 */
export function queueState(answer: Record<string, unknown>, baseUrl: string): QueueState {
  const entries = (key: 'queue_running' | 'queue_pending'): QueueEntry[] => {
    const items = answer[key] === undefined ? [] : answer[key];
    if (!Array.isArray(items) || !items.every(isQueueItem)) {
      throw new ComfyHttpError('GET', '/queue', 200, answer, `ComfyUI at ${baseUrl} answered GET /queue with a ${key} that is not a list of queued prompts`);
    }
    return items.map(queueEntry);
  };
  return { running: entries('queue_running'), pending: entries('queue_pending') };
}
