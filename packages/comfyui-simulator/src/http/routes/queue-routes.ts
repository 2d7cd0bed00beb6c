import type { SimulatorState } from '../../simulator-state';
import { queueTuple } from '../../execution/queue-tuple';
import { pyContains, pyGetItem, pyIterate } from '../../python/py-container';
import { pyBool } from '../../python/py-convert';
import { pyJsonLoads } from '../../python/py-json-loads';
import { asObject, readJson, readText, sendEmpty, sendJson } from '../respond';
import type { Router } from '../router';

export function addQueueRoutes(router: Router, state: SimulatorState): void {
  router.add('GET', '/queue', (_req, res) =>
    sendJson(res, 200, { queue_running: state.queue.runningItems().map(queueTuple), queue_pending: state.queue.pendingItems().map(queueTuple) }),
  );

  // post_queue on whatever json.loads gave, with Python's `in`, [] and `for` (py-container.ts): a list
  // or a str is a 200 that does nothing unless it holds "clear" or "delete" (then indexing it raises, a
  // 500); null, a number or a bool raise at once. `delete` is iterated, so a str deletes by its
  // characters and a dict by its keys; only an equal str matches a prompt id. A clear done before a
  // `delete` that can't be iterated stays done.
  router.add('POST', '/queue', async (req, res) => {
    const body = await readJson(req);
    const dict = asObject(body);
    if (dict) state.controls.push({ path: '/queue', body: dict, at: new Date().toISOString() });
    if (pyContains(body, 'clear') && pyBool(pyGetItem(body, 'clear'))) state.queue.wipe();
    if (pyContains(body, 'delete')) for (const promptId of pyIterate(pyGetItem(body, 'delete'))) state.queue.deletePending(promptId);
    sendEmpty(res, 200, state.profile.emptyBodyContentType);
  });

  router.add('POST', '/interrupt', async (req, res) => {
    // request.json(): a body that isn't UTF-8 raises UnicodeDecodeError, which the handler doesn't catch (a 500).
    const text = await readText(req);
    let parsed: unknown = {};
    try {
      parsed = pyJsonLoads(text);
    } catch {
      // No or bad JSON (a JSONDecodeError) means a global interrupt, as in ComfyUI.
    }
    const body = asObject(parsed);
    // Only a JSONDecodeError is caught there: `json_data.get('prompt_id')` on a list or null raises (a 500).
    if (!body) throw new Error('POST /interrupt body is JSON but not an object');
    state.controls.push({ path: '/interrupt', body, at: new Date().toISOString() });
    // `if prompt_id:` — a falsy id ([], {}, "", 0, false, null) interrupts globally; any other is
    // compared with the running prompt's id (`item[1] == prompt_id`), so only that very string matches.
    const promptId = body.prompt_id;
    if (pyBool(promptId)) state.worker.interruptPrompt(promptId);
    else state.worker.interrupt();
    sendEmpty(res, 200, state.profile.emptyBodyContentType);
  });

  // The flags are applied by the worker between prompts (main.prompt_worker): free_memory also drops the
  // output cache; unload_models (implied by free_memory) has no model to unload here.
  router.add('POST', '/free', async (req, res) => {
    const body = asObject(await readJson(req));
    // `json_data.get(...)` on a list or null raises (a 500).
    if (!body) throw new Error('POST /free body is JSON but not an object');
    if (pyBool(body.free_memory)) state.worker.requestFreeMemory();
    sendEmpty(res, 200, state.profile.emptyBodyContentType);
  });
}
