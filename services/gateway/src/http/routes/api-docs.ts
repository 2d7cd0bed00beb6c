import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { apiDocument } from '../openapi/api-document';

// Swagger UI is a page: its own scripts, its stylesheet and inline styles, SVG data images, and the
// document and "Try it out" requests to this origin; still never framed. Replaces the API's
// `default-src 'none'` (under which a browser runs none of it: a blank page) on its answers only.
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join(';');

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
