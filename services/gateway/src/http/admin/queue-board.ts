import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { grants, QUEUE_KEYS } from '@anime/contracts';
import type { PipelineQueues } from '@anime/pipeline';
import { Router, type RequestHandler } from 'express';
import { ApiError } from '../api-error';
import { insufficientScope, unauthenticated } from '../auth/auth-errors';
import type { KeyAuthenticator } from '../auth/authenticate-key';
import { pagePolicy } from '../edge/page-policy';
import { boardCredential } from './board-credential';
import { boardAddGuard } from './board-add-guard';
import { boardPromote } from './board-promote';
import { boardRetry, type BoardRetryDeps } from './board-retry';

/** Where bull-board is served. Not part of the REST API (a UI and its private calls): outside the OpenAPI document. */
export const QUEUE_BOARD_PATH = '/admin/queues';

// The board is a page (the fonts from Google, as bull-board ships them).
const BOARD_CSP = pagePolicy({ defaultSrc: "'self'", styleSrc: ['https://fonts.googleapis.com'], fontSrc: ['https://fonts.gstatic.com', 'data:'] });

const SAFE_METHODS = new Set(['GET', 'HEAD']);

function boardRouter(queues: PipelineQueues, readOnlyMode: boolean): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: QUEUE_KEYS.map((key) => new BullMQAdapter(queues.byKey[key], { readOnlyMode, allowRetries: !readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'anime queues' } },
  });
  return serverAdapter.getRouter() as RequestHandler;
}

/**
 * bull-board answers its own refusals `{ error: { key: 'ERRORS.QUEUE_NOT_FOUND', options? } }` for its
 * page to translate; the gateway's envelope (`code`, `message`) is added beside the key.
 */
function withErrorEnvelope(body: unknown): unknown {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null || 'code' in error || typeof (error as { key?: unknown }).key !== 'string') return body;
  const { key, options } = error as { key: string; options?: unknown };
  const name = key.replace(/^ERRORS\./, '').toLowerCase();
  const code = name === 'internal_server_error' ? 'internal' : name;
  const message = `queue board: ${name.replace(/_/g, ' ')}${options === undefined ? '' : ` (${JSON.stringify(options)})`}`;
  return { ...(body as object), error: { code, message, ...error } };
}

/**
 * bull-board over every queue of the pipeline catalog. An admin key gets the full board (retry,
 * remove, pause, …); a key with `read` gets the same board in bull-board's read-only mode, and
 * anything but a read is refused before the board sees it; no key is a 401 asking for HTTP Basic.
 * A retry from the board (one job, or all of a status) of a stage job is the generation's retry, as
 * over REST (boardRetry): its owner's queue cap, 409 for a generation it cannot run again; adding
 * a stage job for a generation that exists is refused (boardAddGuard). A retry or promote of a job
 * that moved since the board showed it (another admin's, a double click) is a 409, not bull-board's
 * 500 (boardRetry, boardPromote).
 */
export function queueBoard(deps: BoardRetryDeps & { authenticateKey: KeyAuthenticator }): Router {
  const full = boardRouter(deps.queues, false);
  const readOnly = boardRouter(deps.queues, true);
  const guard = Router().use(boardPromote(deps.queues), boardRetry(deps), boardAddGuard(deps));
  const router = Router();
  router.use(async (req, res, next) => {
    try {
      res.setHeader('Content-Security-Policy', BOARD_CSP);
      const json = res.json.bind(res);
      res.json = ((body: unknown) => json(res.statusCode >= 400 ? withErrorEnvelope(body) : body)) as typeof res.json;
      // Two Authorization headers are ambiguous (Node keeps the first, a proxy may honour another): neither is used.
      const authorization = req.headersDistinct.authorization ?? [];
      const outcome = await deps.authenticateKey(authorization.length > 1 ? 'two Authorization headers' : boardCredential(authorization[0]));
      if ('refused' in outcome) {
        res.setHeader('WWW-Authenticate', 'Basic realm="anime queues (an API key as the password)", charset="UTF-8"');
        return next(unauthenticated(outcome.refused));
      }
      res.locals.caller = outcome.caller;
      const { scopes, projects } = outcome.caller;
      // The board shows every project's jobs: a key limited to projects does not see it.
      if (!grants(scopes, 'read') || projects !== null) return next(projects !== null ? new ApiError(403, 'insufficient_scope', 'the queue board shows every project: it needs a key not limited to projects', { scope: 'read' }) : insufficientScope('read'));
      if (grants(scopes, 'admin')) return guard(req, res, (error?: unknown) => (error ? next(error) : full(req, res, next)));
      if (!SAFE_METHODS.has(req.method)) return next(insufficientScope('admin'));
      return readOnly(req, res, next);
    } catch (error) {
      next(error);
    }
  });
  return router;
}
