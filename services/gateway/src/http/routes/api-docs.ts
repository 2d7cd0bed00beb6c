import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { apiDocument } from '../openapi/api-document';

/** `GET /api/openapi.json` (the OpenAPI 3.1 document) and `/api/docs` (browsable, Swagger UI served from this gateway). */
export function apiDocsRoutes(): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(apiDocument());
  });
  router.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/api/openapi.json', persistAuthorization: true }, customSiteTitle: 'Anime Production System API' }));
  return router;
}
