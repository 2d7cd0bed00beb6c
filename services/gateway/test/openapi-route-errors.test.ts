import { EXPOSED_HEADERS } from '../src/http/edge/edge-middleware';
import { apiDocument } from '../src/http/openapi/api-document';

// What the document says a route's error answers may be, against what the gateway does. The 503
// library_unavailable was first described on every route's shared 503 (GETs included, which the
// error middleware never answers it on), the export's 409 bundle_incomplete without its
// details.references, and a header a page must read could be declared without being exposed to it.

type Operation = { responses: Record<string, { description: string; headers?: Record<string, unknown> }> };
const paths = apiDocument().paths as Record<string, Record<string, Operation>>;
const operations = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, method, operation })));
const operation = (route: string) => operations.find((o) => o.route === route)!.operation;

describe('OpenAPI error answers, route by route', () => {
  it('when a route writes to the library (reference upload, bundle import), then its 503 names library_unavailable with Retry-After and details.reason; no GET or HEAD route names it', () => {
    const writers = ['POST /api/v1/characters/{idOrSlug}/references', 'POST /api/v1/characters/import'];
    for (const route of writers) {
      const answer = operation(route).responses['503'];
      expect({ route, description: answer.description }).toEqual({ route, description: expect.stringMatching(/library_unavailable \(Retry-After: 60, details\.reason the errno: ENOSPC/) });
      expect(answer.headers).toHaveProperty('Retry-After');
    }
    const naming = operations.filter((o) => o.operation.responses['503']?.description.includes('library_unavailable')).map((o) => o.route);
    expect(naming.sort()).toEqual(writers.sort());
  });

  it('when a route downloads a library file (an asset, a reference), then its 503 names library_unreadable with Retry-After and details.reason; no other route names it', () => {
    const downloads = ['GET /api/v1/assets/{id}/file', 'GET /api/v1/characters/{idOrSlug}/references/{refId}/file'];
    for (const route of downloads) {
      const answer = operation(route).responses['503'];
      expect({ route, description: answer.description }).toEqual({ route, description: expect.stringMatching(/library_unreadable \(Retry-After: 60, details\.reason the errno: EACCES, EPERM, EIO, ELOOP\)/) });
      expect(answer.headers).toHaveProperty('Retry-After');
    }
    const naming = operations.filter((o) => o.operation.responses['503']?.description.includes('library_unreadable')).map((o) => o.route);
    expect(naming.sort()).toEqual(downloads.sort());
  });

  it('when a library read does not answer in time (a hung mount), then the upload, the import and both downloads name details.reason ETIMEDOUT in their 503', () => {
    const routes = ['POST /api/v1/characters/{idOrSlug}/references', 'POST /api/v1/characters/import', 'GET /api/v1/assets/{id}/file', 'GET /api/v1/characters/{idOrSlug}/references/{refId}/file'];
    for (const route of routes) {
      expect({ route, description: operation(route).responses['503'].description }).toEqual({ route, description: expect.stringContaining('details.reason ETIMEDOUT') });
    }
  });

  it('when an export finds reference files lost, then its 409 says bundle_incomplete and the shape of details.references', () => {
    const description = operation('GET /api/v1/characters/{idOrSlug}/export').responses['409'].description;
    expect(description).toContain('bundle_incomplete');
    expect(description).toContain('details.references');
    for (const reason of ['gone', 'altered', 'unreadable']) expect(description).toContain(`"${reason}"`);
  });

  it('when a webhook is registered, then the document says its URL may hold no user name or password (a 400 otherwise)', () => {
    const body = (paths['/api/v1/webhooks'].post as unknown as { requestBody: { content: Record<string, { schema: { $ref?: string; properties?: Record<string, { description?: string }> } }> } }).requestBody.content['application/json'].schema;
    const schemas = (apiDocument().components?.schemas ?? {}) as Record<string, { properties?: Record<string, { description?: string }> }>;
    const properties = body.properties ?? schemas[body.$ref!.split('/').at(-1)!].properties!;
    expect(properties.url.description).toContain('without a user name or password');
  });

  it('when the document declares an X- response header, then CORS exposes it to a listed origin', () => {
    const declared = new Set(operations.flatMap((o) => Object.values(o.operation.responses).flatMap((r) => Object.keys(r.headers ?? {}))).filter((name) => name.startsWith('X-')));
    expect(declared).toContain('X-Bundle-Restored-References');
    for (const name of declared) expect({ name, exposed: EXPOSED_HEADERS.includes(name) }).toEqual({ name, exposed: true });
  });
});
