import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { API_ROUTES } from './api-routes';
import { registerRoute, registerSharedHeaders } from './api-path';

let cached: ReturnType<OpenApiGeneratorV31['generateDocument']> | undefined;

/** The OpenAPI 3.1 document of the REST API, generated from the zod contracts (never hand-written). */
export function apiDocument() {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`pnpm apikey:create`), as `Authorization: Bearer <key>`.',
  });
  registerSharedHeaders(registry);
  for (const route of API_ROUTES) registerRoute(registry, route);
  cached = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Anime Production System API',
      version: '1.0.0',
      description:
        'Characters with immutable versions and reference images; generations rendered on ComfyUI and filed into the library. Live progress over Socket.IO at `/socket.io` (`subscribe { jobId }`).',
    },
    servers: [{ url: '/' }],
  });
  return cached;
}
