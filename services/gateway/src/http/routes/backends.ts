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
    const { id } = req.params;
    const notFound = () => new ApiError(404, 'backend_not_found', `backend ${id} not found`);
    // PostgreSQL would answer NUL with an error; such an id names nothing anyway.
    if (!isStorableText(id)) throw notFound();
    // A drain of a backend already draining keeps the time of the first (idempotent): only one not
    // draining is stamped. Undrain clears both.
    if (draining) await deps.db.backend.updateMany({ where: { id, draining: false }, data: { draining: true, drainedAt: new Date() } });
    else await deps.db.backend.updateMany({ where: { id }, data: { draining: false, drainedAt: null } });
    const row = await deps.db.backend.findUnique({ where: { id } });
    if (!row) throw notFound();
    await deps.control.backendChanged(id);
    res.json(toBackendResource(row));
  };
  router.post('/:id/drain', setDraining(true));
  router.post('/:id/undrain', setDraining(false));

  return router;
}
