import type { SimulatorState } from '../../simulator-state';
import { asObject, readJson, sendEmpty, sendJson } from '../respond';
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

  router.add('POST', '/history', async (req, res) => {
    const body = asObject(await readJson(req)) ?? {};
    if (body.clear) state.queue.wipeHistory();
    if (Array.isArray(body.delete)) for (const promptId of body.delete) state.queue.deleteHistory(promptId);
    sendEmpty(res, 200, state.profile.emptyBodyContentType);
  });
}
