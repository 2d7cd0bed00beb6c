import { randomUUID } from 'node:crypto';
import { pyContains, pyGetItem } from '../../python/py-container';
import { pyBool, pyFloat } from '../../python/py-convert';
import { pyStr } from '../../python/py-format';
import { markedNumberText, markFloat, pyDictCopy } from '../../python/py-json-marks';
import type { SimulatorState } from '../../simulator-state';
import type { ExtraData } from '../../types';
import { validatePrompt } from '../../validation/validate-prompt';
import { asObject, readJson, sendJson } from '../respond';
import type { Router } from '../router';

/** Keys ComfyUI keeps out of history and /queue (paid API node credentials). */
const SENSITIVE_EXTRA_DATA_KEYS = ['auth_token_comfy_org', 'api_key_comfy_org'];

/**
 * `prompt_id = str(json_data.get("prompt_id", uuid.uuid4()))` (0.3.64 and 0.8.0, as from #8189 in
 * Jul 2025 until #13998 in Jun 2026): a uuid4 only when the key is absent; any value given is str()ed,
 * so an explicit null becomes the id "None", true "True", 5.0 "5.0". No format is checked: the
 * canonical-UUID check (400 invalid_prompt_id) and the null-mints-a-uuid rule came with #13998, after
 * both versions the simulator answers as.
 */
function clientPromptId(body: Record<string, unknown>): string {
  if (!('prompt_id' in body)) return randomUUID();
  const value = body.prompt_id;
  // A float literal (5.0) or an int too large for a double keeps its Python text; nan and inf are pyStr's.
  const marked = typeof value === 'number' && Number.isFinite(value) ? markedNumberText(body, 'prompt_id', value) : undefined;
  return marked ?? pyStr(value);
}

export function addPromptRoutes(router: Router, state: SimulatorState): void {
  router.add('GET', '/prompt', (_req, res) => sendJson(res, 200, { exec_info: { queue_remaining: state.queue.tasksRemaining() } }));

  // json_data is whatever json.loads gave: `"number" in json_data` and json_data["number"] are Python's
  // (py-container.ts), so a list or a str without those words is a no_prompt 400 that still advances the
  // number, `["prompt"]` or `"prompt"` a 500 (indexing a list or str by a str), and null, a number or a
  // bool a 500 before anything (`in` on them raises TypeError).
  router.add('POST', '/prompt', async (req, res) => {
    const parsed = await readJson(req);

    let number: number;
    const numberIsFloat = pyContains(parsed, 'number');
    if (numberIsFloat) {
      number = pyFloat(pyGetItem(parsed, 'number'));
    } else {
      number = state.nextNumber;
      if (pyContains(parsed, 'front') && pyBool(pyGetItem(parsed, 'front'))) number = -number;
      state.nextNumber += 1;
    }

    if (!pyContains(parsed, 'prompt')) {
      const error = { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} };
      sendJson(res, 400, { error, node_errors: {} });
      return;
    }
    const promptValue = pyGetItem(parsed, 'prompt');
    // Only a dict gets this far: json_data["prompt"] raised on a list or a str.
    const body = parsed as Record<string, unknown>;
    const prompt = asObject(promptValue);
    if (!prompt) throw new Error('prompt is not an object');
    const reused = state.misbehaviour?.kind === 'reuse_prompt_id' ? state.misbehaviour.promptId : undefined;
    const promptId = reused ?? clientPromptId(body);

    const validation = validatePrompt(prompt, state.env, body.partial_execution_targets);
    const extraData: ExtraData = pyDictCopy(asObject(body.extra_data) ?? {});
    if ('client_id' in body) extraData.client_id = body.client_id;
    if (!validation.ok) {
      sendJson(res, 400, { error: validation.error, node_errors: validation.nodeErrors });
      return;
    }

    const sensitive: ExtraData = {};
    for (const key of SENSITIVE_EXTRA_DATA_KEYS) {
      if (key in extraData) {
        sensitive[key] = extraData[key];
        delete extraData[key];
      }
    }
    // 0.8.0 stamps create_time (every captured history entry has it); 0.3.64 does not (issue 14).
    if (state.profile.stampsCreateTime) extraData.create_time = Date.now();
    state.queue.put({ number, numberIsFloat, promptId, prompt, extraData, outputs: validation.outputs, sensitive });
    state.received.push({ promptId, prompt, clientId: typeof body.client_id === 'string' ? body.client_id : undefined, extraData });
    state.worker.wake();
    const lost = state.misbehaviour?.kind === 'answer_lost' ? state.misbehaviour : undefined;
    if (lost) return sendJson(res, lost.status, lost.body);
    const answer = { prompt_id: promptId, number, node_errors: validation.nodeErrors };
    if (numberIsFloat) markFloat(answer, 'number', number);
    sendJson(res, 200, answer);
  });
}
