import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { pagePolicy } from '../edge/page-policy';
import { apiDocument } from '../openapi/api-document';

// Swagger UI is a page: under the API's `default-src 'none'` a browser ran none of it (a blank page).
const DOCS_CSP = pagePolicy();

/** `GET /api/openapi.json` (the OpenAPI 3.1 document) and `/api/docs` (browsable, Swagger UI served from this gateway). */
export function apiDocsRoutes(): Router {
  const router = Router();
  // Serialised once: the document never changes while the gateway runs (about 100 KiB of JSON).
  let serialized: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    serialized ??= JSON.stringify(apiDocument());
    res.type('application/json').send(serialized);
  });
  router.use('/docs', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    next();
  });
  router.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/api/openapi.json', persistAuthorization: true }, customSiteTitle: 'Anime Production System API' }));
  return router;
}
