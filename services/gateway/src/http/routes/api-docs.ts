import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { apiDocument } from '../openapi/api-document';

/** `GET /api/openapi.json` (the OpenAPI 3.1 document) and `/api/docs` (browsable, Swagger UI served from this gateway). */
export function apiDocsRoutes(): Router {
  const router = Router();
  // Serialised once: the document never changes while the gateway runs (about 100 KiB of JSON).
  let serialized: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    serialized ??= JSON.stringify(apiDocument());
    res.type('application/json').send(serialized);
  });
  router.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/api/openapi.json', persistAuthorization: true }, customSiteTitle: 'Anime Production System API' }));
  return router;
}
