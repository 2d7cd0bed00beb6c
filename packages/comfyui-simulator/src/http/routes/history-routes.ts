import type { SimulatorState } from '../../simulator-state';
import { assertHashable, pyContains, pyGetItem, pyIterate } from '../../python/py-container';
import { pyBool } from '../../python/py-convert';
import { readJson, sendEmpty, sendJson } from '../respond';
import type { Router } from '../router';

function intParam(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new Error(`invalid literal for int(): ${value}`);
  return Number(value);
}

export function addHistoryRoutes(router: Router, state: SimulatorState): void {
  router.add('GET', '/history', (_req, res, { query }) =>
    sendJson(res, 200, state.queue.getHistory({ maxItems: intParam(query.get('max_items')), offset: intParam(query.get('offset')) })),
  );

  router.add('GET', '/history/:promptId', (_req, res, { params }) => sendJson(res, 200, state.queue.getHistory({ promptId: params.promptId })));

  // post_history: post_queue's reading of the body (queue-routes.ts), each id then given to
  // history.pop(id, None), which raises on a list or a dict (unhashable: a 500, the ids before it gone).
  router.add('POST', '/history', async (req, res) => {
    const body = await readJson(req);
    if (pyContains(body, 'clear') && pyBool(pyGetItem(body, 'clear'))) state.queue.wipeHistory();
    if (pyContains(body, 'delete')) {
      for (const promptId of pyIterate(pyGetItem(body, 'delete'))) {
        assertHashable(promptId);
        state.queue.deleteHistory(promptId);
      }
    }
    sendEmpty(res, 200, state.profile.emptyBodyContentType);
  });
}
