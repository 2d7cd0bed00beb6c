import { isAnswerTooLarge } from '../errors/comfy-http-error';
import type { QueueState } from '../types';

/**
 * The server's /queue, or undefined when its answer is past the client's bound (a busy server: every
 * waiting prompt's graph with its UI workflow); any other fault is thrown as it came.
 */
export async function readableQueue(client: { queue(): Promise<QueueState> }): Promise<QueueState | undefined> {
  try {
    return await client.queue();
  } catch (error) {
    if (isAnswerTooLarge(error)) return undefined;
    throw error;
  }
}
