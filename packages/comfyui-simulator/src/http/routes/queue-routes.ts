import type { SimulatorState } from '../../simulator-state';
import { queueTuple } from '../../execution/queue-tuple';
import { asObject, readBody, readJson, sendEmpty, sendJson } from '../respond';
import type { Router } from '../router';

export function addQueueRoutes(router: Router, state: SimulatorState): void {
  router.add('GET', '/queue', (_req, res) =>
    sendJson(res, 200, { queue_running: state.queue.runningItems().map(queueTuple), queue_pending: state.queue.pendingItems().map(queueTuple) }),
  );

  router.add('POST', '/queue', async (req, res) => {
    const body = asObject(await readJson(req)) ?? {};
    state.controls.push({ path: '/queue', body, at: new Date().toISOString() });
    if (body.clear) state.queue.wipe();
    if (Array.isArray(body.delete)) for (const promptId of body.delete) state.queue.deletePending(promptId);
    sendEmpty(res, 200, state.profile.emptyBodyContentType);
  });

  router.add('POST', '/interrupt', async (req, res) => {
    let parsed: unknown = {};
    try {
      parsed = JSON.parse((await readBody(req)).toString('utf8'));
    } catch {
      // No or bad JSON means a global interrupt, as in ComfyUI.
    }
    const body = asObject(parsed);
    // Only a JSONDecodeError is caught there: `json_data.get('prompt_id')` on a list or null raises (a 500).
    if (!body) throw new Error('POST /interrupt body is JSON but not an object');
    state.controls.push({ path: '/interrupt', body, at: new Date().toISOString() });
    const promptId = body.prompt_id;
    state.worker.interrupt(promptId ? String(promptId) : undefined);
    sendEmpty(res, 200, state.profile.emptyBodyContentType);
  });
}
