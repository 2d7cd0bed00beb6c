import { randomUUID } from 'node:crypto';
import type { ApiPrompt } from '@anime/comfyui-simulator';

/**
 * A prompt an earlier process queued on the backend, straight to its /prompt (under a clientId of
 * its own, not through the orchestrator): its prompt id.
 */
export async function queuedByAnEarlierProcess(backendUrl: string, workflow: ApiPrompt): Promise<string> {
  const promptId = randomUUID();
  const posted = await fetch(`${backendUrl}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: workflow, prompt_id: promptId, client_id: 'an-earlier-process' }) });
  if (posted.status !== 200) throw new Error(`the backend answered ${posted.status} to the earlier process's prompt: ${await posted.text()}`);
  return promptId;
}
