import { ComfyHttpError } from '../errors/comfy-http-error';
import { ComfyValidationError } from '../errors/comfy-validation-error';
import { isJsonObject } from '../json-object';
import { serverText } from '../server-text';
import type { ApiPrompt, SubmitOptions, SubmitResult } from '../types';
import type { ComfyHttp } from './comfy-http';

/** POST /prompt. Only a 200 with empty node_errors counts as accepted. */
export async function submitPrompt(http: ComfyHttp, clientId: string, prompt: ApiPrompt, options: SubmitOptions): Promise<SubmitResult & { nodeErrors?: unknown }> {
  const body: Record<string, unknown> = { prompt, client_id: clientId };
  if (options.promptId !== undefined) body.prompt_id = options.promptId;
  if (options.extraData !== undefined) body.extra_data = options.extraData;
  if (options.front) body.front = true;
  const response = await http.request({ method: 'post', url: '/prompt', data: body });
  // ComfyUI's refusal is a JSON object; a 400 page of a proxy before it (text, HTML) is no verdict on the prompt.
  if (response.status === 400 && isJsonObject(response.data)) throw new ComfyValidationError(response.data);
  if (response.status !== 200) throw new ComfyHttpError('POST', '/prompt', response.status, response.data);
  if (typeof response.data?.prompt_id !== 'string') {
    throw new ComfyHttpError('POST', '/prompt', 200, response.data, `ComfyUI at ${http.shownUrl} answered POST /prompt without a prompt_id`);
  }
  const { prompt_id: promptId, number, node_errors: nodeErrors } = response.data;
  const hasNodeErrors = nodeErrors && typeof nodeErrors === 'object' && Object.keys(nodeErrors).length > 0;
  return { promptId, number: typeof number === 'number' ? number : Number(serverText(number)), nodeErrors: hasNodeErrors ? nodeErrors : undefined };
}
