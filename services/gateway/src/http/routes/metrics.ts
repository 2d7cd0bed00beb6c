import { Router } from 'express';
import { Registry } from 'prom-client';
import { collectProcessMetrics, metricsText } from '@anime/pipeline';
import { authenticate } from '../auth/authenticate';
import { authorize } from '../auth/authorize';
import type { KeyAuthenticator } from '../auth/authenticate-key';

/**
 * `GET /metrics` on the gateway's own port, for an admin key: the gateway is the one service
 * published to clients, so its metrics (traffic of every project, queue depths) sit behind a
 * credential that Prometheus sends natively (`authorization: { credentials_file }`), rather than on
 * one more listener every deployment would have to keep private.
 */
export function metricsRoutes(authenticateKey: KeyAuthenticator): Router {
  const registry = new Registry();
  collectProcessMetrics(registry, 'gateway');
  const router = Router();
  router.get('/metrics', authenticate(authenticateKey), authorize, async (_req, res) => {
    const { contentType, body } = await metricsText(registry);
    res.type(contentType).send(body);
  });
  return router;
}
