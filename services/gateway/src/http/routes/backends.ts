import { Router } from 'express';
import { isStorableText } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { JobControlPublisher } from '@anime/pipeline';
import { toBackendResource } from '../../domain/backend-resources';
import { ApiError } from '../api-error';

/**
 * The ComfyUI backends, as the orchestrator records them in PostgreSQL (the gateway never talks
 * to the orchestrator). Drain and undrain set a flag in PostgreSQL, then tell the orchestrators
 * (backend-changes channel) to read it again: a drained backend gets no new job and finishes what it holds.
 */
export function backendRoutes(deps: { db: Db; control: Pick<JobControlPublisher, 'backendChanged'> }): Router {
  const router = Router();

  router.get('/', async (_req, res) => {
    const rows = await deps.db.backend.findMany({ orderBy: { url: 'asc' } });
    res.json({ items: rows.map(toBackendResource) });
  });

  const setDraining = (draining: boolean) => async (req: { params: { id: string } }, res: { json(body: unknown): void }) => {
    // PostgreSQL would answer NUL with an error; such an id names nothing anyway.
    const changed = isStorableText(req.params.id)
      ? await deps.db.backend.updateMany({ where: { id: req.params.id }, data: { draining, drainedAt: draining ? new Date() : null } })
      : { count: 0 };
    if (!changed.count) throw new ApiError(404, 'backend_not_found', `backend ${req.params.id} not found`);
    await deps.control.backendChanged(req.params.id);
    res.json(toBackendResource(await deps.db.backend.findUniqueOrThrow({ where: { id: req.params.id } })));
  };
  router.post('/:id/drain', setDraining(true));
  router.post('/:id/undrain', setDraining(false));

  return router;
}
