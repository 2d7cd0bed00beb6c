import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@anime/stack';
import { expressRoutes } from './express-routes';
import { kaiDefinition } from './fixtures';
import { png } from './images';
import { portraitGraph, portraitParams } from './workflow-template-fixture';
import { jsonClient } from './http-client';
import { checkAgainstApiDocument } from './openapi-conformance';
import { rawRequest } from './raw-request';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { toOpenApiPath } from '../src/http/openapi/api-path';
import { QUEUE_BOARD_PATH } from '../src/http/admin/queue-board';

type DocumentedResponse = { headers?: Record<string, { $ref?: string; description?: string; schema?: { type: string } }>; content?: Record<string, unknown> };

/** Every response the document describes: operation, status, and the names of the headers it declares. */
function documentedResponses(document: { paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>> }) {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).flatMap(([method, operation]) =>
      Object.entries(operation.responses).map(([status, response]) => ({ path, route: `${method.toUpperCase()} ${path}`, status: Number(status), headers: Object.keys(response.headers ?? {}) })),
    ),
  );
}

/** One request with exactly these headers, its answer checked against the document as the clients' are. */
async function checkedRaw(gw: TestGateway, path: string, headers: Record<string, string> = {}) {
  const response = await rawRequest(gw.baseUrl, 'GET', path, headers);
  checkAgainstApiDocument({ method: 'GET', url: path, status: response.status, contentType: String(response.headers['content-type'] ?? ''), body: response.json, headers: response.headers });
  return response;
}

const RATE_LIMIT_HEADERS = ['RateLimit-Policy', 'RateLimit', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

describe('OpenAPI document (GET /api/openapi.json, /api/docs)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway('openapi');
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('when fetched, then it is a valid OpenAPI 3.1 document generated from the zod contracts', async () => {
    const { status, body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    // Checked by an independent validator against the official OpenAPI 3.1 schema (its CLI: the package is ESM-only).
    const dir = await mkdtemp(path.join(tmpdir(), 'openapi-'));
    try {
      await writeFile(path.join(dir, 'openapi.json'), JSON.stringify(body));
      const { stdout } = await promisify(execFile)(path.join(REPO_ROOT, 'node_modules/.bin/validate-api'), [path.join(dir, 'openapi.json')]);
      expect(JSON.parse(stdout.slice(stdout.indexOf('{')))).toMatchObject({ valid: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // The contracts' constraints and descriptions reach it.
    const request = body.paths['/api/v1/generations'].post.requestBody.content['application/json'].schema;
    const resolved = request.$ref ? body.components.schemas[request.$ref.split('/').at(-1)] : request;
    expect(resolved.properties.width).toMatchObject({ minimum: 64, maximum: 2048 });
    expect(body.components.schemas.Generation.properties.status.enum).toEqual(['queued', 'running', 'completed', 'failed', 'canceled']);
    expect(body.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('when compared with the routes Express serves, then every route is documented and every documented route exists', async () => {
    const { body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
    // bull-board is a UI with its own private API, mounted as a whole: not part of the REST API.
    const served = expressRoutes(gw.app)
      .filter((r) => !r.path.startsWith(`${QUEUE_BOARD_PATH}/`) && r.path !== QUEUE_BOARD_PATH)
      .map((r) => `${r.method.toUpperCase()} ${toOpenApiPath(r.path)}`).sort();
    const documented = Object.entries(body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(served.length).toBeGreaterThan(30);
    expect(served).toEqual(documented);
  });

  it('when a create answers with a Location header, then the document declares that header for its status', async () => {
    // The client checks each answer against the document, its Location header included.
    const api = gw.client();
    const form = (name: string, bytes: Buffer) => {
      const body = new FormData();
      body.set('file', new Blob([bytes]), name);
      return body;
    };
    const image = png(16, 16, 3);
    const answers = [
      await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition }),
      await api.post('/api/v1/characters/kai/versions', { definition: kaiDefinition, note: 'again' }),
      await api.post('/api/v1/characters/kai/references', form('front.png', image)),
      await api.post('/api/v1/characters/kai/references', form('front.png', image)),
      await api.post('/api/v1/workflows', { slug: 'portrait', graph: portraitGraph(), params: portraitParams() }),
    ];
    const bundle = Buffer.from(await (await fetch(`${gw.baseUrl}/api/v1/characters/kai/export`, { headers: gw.authHeaders })).arrayBuffer());
    answers.push(await api.post('/api/v1/characters/import?as=kai-copy', form('bundle.zip', bundle)));
    answers.push(await api.post('/api/v1/characters/import?as=kai-copy', form('bundle.zip', bundle)));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 200, 201, 201, 200]);
    for (const answer of answers) expect(answer.headers.get('location')).toMatch(/^\/api\/v1\//);
  });

  it('when an answer carries ETag, Last-Modified, Retry-After, Content-Range, Accept-Ranges or X-Bundle-Omitted-References, then the document declares it for that route and status', async () => {
    const { body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
    type Response = { headers?: Record<string, { description: string; schema: { type: string } }>; content?: Record<string, unknown> };
    const operations = Object.entries(body.paths as Record<string, Record<string, { responses: Record<string, Response> }>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, responses: operation.responses })),
    );
    const declared = (route: string, status: number) => Object.keys(operations.find((o) => o.route === route)?.responses[status]?.headers ?? {}).sort();
    // The downloads (Express's sendFile): validators and ranges on the file, its part and the 304; the size on a 416.
    for (const file of ['GET /api/v1/assets/{id}/file', 'GET /api/v1/characters/{idOrSlug}/references/{refId}/file']) {
      const validators = ['Accept-Ranges', 'ETag', 'Last-Modified'];
      expect({ file, 200: declared(file, 200), 206: declared(file, 206), 304: declared(file, 304), 412: declared(file, 412), 416: declared(file, 416) }).toEqual({
        file,
        200: expect.arrayContaining(validators),
        206: expect.arrayContaining([...validators, 'Content-Range']),
        304: expect.arrayContaining(validators),
        412: expect.arrayContaining(['Accept-Ranges']),
        416: expect.arrayContaining(['Accept-Ranges', 'Content-Range']),
      });
    }
    const exported = operations.find((o) => o.route === 'GET /api/v1/characters/{idOrSlug}/export')!.responses[200];
    expect(exported.headers?.['X-Bundle-Omitted-References']).toMatchObject({ description: expect.any(String), schema: { type: 'integer', minimum: 0 } });
    // Every refusal to wait (rate_limited, queue_full, database_unavailable) says how long; every body sent by
    // res.json carries Express's weak ETag.
    const undeclared = operations.flatMap(({ route, responses }) =>
      Object.entries(responses).flatMap(([status, response]) => [
        ...(['429', '503'].includes(status) && response.headers?.['Retry-After']?.schema.type !== 'integer' ? [`${route} ${status} Retry-After`] : []),
        ...(response.content?.['application/json'] && !response.headers?.ETag ? [`${route} ${status} ETag`] : []),
      ]),
    );
    expect(undeclared).toEqual([]);
  });

  it('when answers carrying those headers are checked against the document, then they conform, and a header it does not declare fails the check', async () => {
    const api = gw.client();
    await api.post('/api/v1/characters', { name: 'Mika', slug: 'mika', definition: kaiDefinition });
    const raw = async (path: string, headers: Record<string, string> = {}) => {
      const response = await rawRequest(gw.baseUrl, 'GET', path, { ...gw.authHeaders, ...headers });
      checkAgainstApiDocument({ method: 'GET', url: path, status: response.status, contentType: String(response.headers['content-type'] ?? ''), body: response.json, headers: response.headers });
      return response;
    };
    // A bundle download, not JSON: its count of left-out references is declared.
    const bundle = await raw('/api/v1/characters/mika/export');
    expect({ status: bundle.status, omitted: bundle.headers['x-bundle-omitted-references'] }).toEqual({ status: 200, omitted: '0' });
    // A JSON read sent again with its ETag: Express answers 304.
    const read = await raw('/api/v1/characters/mika');
    expect(read.headers.etag).toMatch(/^W\//);
    expect((await raw('/api/v1/characters/mika', { 'if-none-match': String(read.headers.etag) })).status).toBe(304);
    // The check itself: a header where the document declares none, or a value its schema refuses.
    const answer = { method: 'GET', url: '/api/v1/characters/mika', status: 200, contentType: 'application/json', body: read.json };
    expect(() => checkAgainstApiDocument({ ...answer, headers: { 'x-bundle-omitted-references': '0' } })).toThrow(/X-Bundle-Omitted-References header the document does not declare/);
    expect(() => checkAgainstApiDocument({ ...answer, headers: new Headers({ 'Content-Range': 'bytes 0-1/2' }) })).toThrow(/Content-Range header the document does not declare/);
    const refused = { method: 'GET', url: '/api/v1/characters', status: 429, contentType: 'application/json', body: { error: { code: 'rate_limited', message: 'slow down' } } };
    expect(() => checkAgainstApiDocument({ ...refused, headers: { 'retry-after': '3' } })).not.toThrow();
    expect(() => checkAgainstApiDocument({ ...refused, headers: { 'retry-after': 'soon' } })).toThrow(/Retry-After header \(soon\) does not match/);
  });

  it('when any answer is given, a refusal or a 404 included, then it carries an X-Request-Id, which the document declares once and on every response', async () => {
    const { body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
    expect(body.components.headers['X-Request-Id']).toMatchObject({ description: expect.any(String), schema: { type: 'string', pattern: '^[\\w.-]{1,100}$' } });
    const undeclared = documentedResponses(body).filter((r) => !r.headers.includes('X-Request-Id'));
    expect(undeclared.map((r) => `${r.route} ${r.status}`)).toEqual([]);
    expect(body.paths['/api/v1/characters'].get.responses['200'].headers['X-Request-Id']).toEqual({ $ref: '#/components/headers/X-Request-Id' });
    // Real answers, each checked against the document: a read and its 304, a 404, a refused query (before
    // the key is read), a 401, the probes and this document.
    await gw.client().post('/api/v1/characters', { name: 'Rin', slug: 'rin', definition: kaiDefinition });
    const read = await checkedRaw(gw, '/api/v1/characters/rin', { ...gw.authHeaders, 'x-request-id': 'trace-1.2_3' });
    const answers = [
      read,
      await checkedRaw(gw, '/api/v1/characters/rin', { ...gw.authHeaders, 'if-none-match': String(read.headers.etag) }),
      await checkedRaw(gw, '/api/v1/characters/nobody', gw.authHeaders),
      await checkedRaw(gw, '/api/v1/characters?q=%ff', gw.authHeaders),
      await checkedRaw(gw, '/api/v1/characters', { 'x-request-id': 'not an id!' }),
      await checkedRaw(gw, '/healthz'),
      await checkedRaw(gw, '/readyz'),
      await checkedRaw(gw, '/api/openapi.json'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 304, 404, 400, 401, 200, 200, 200]);
    for (const answer of answers) expect(answer.headers['x-request-id']).toMatch(/^[\w.-]{1,100}$/);
    // The client's own id is echoed; one the gateway does not take is replaced by a UUID.
    expect(read.headers['x-request-id']).toBe('trace-1.2_3');
    expect(answers[4].headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const answer = { method: 'GET', url: '/healthz', status: 200, contentType: 'application/json', body: { status: 'ok', service: 'gateway' } };
    expect(() => checkAgainstApiDocument({ ...answer, headers: { 'x-request-id': 'not an id!' } })).toThrow(/X-Request-Id header \(not an id!\) does not match/);
  });

  it('when a request is refused for want of a key, then the 401 says how to authenticate (WWW-Authenticate: Bearer), as the document declares on every 401 and only there', async () => {
    const { body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
    expect(body.components.headers['WWW-Authenticate']).toMatchObject({ schema: { type: 'string', enum: ['Bearer realm="api"'] } });
    const misplaced = documentedResponses(body).filter((r) => r.headers.includes('WWW-Authenticate') !== (r.status === 401));
    expect(misplaced.map((r) => `${r.route} ${r.status}`)).toEqual([]);
    expect(documentedResponses(body).filter((r) => r.status === 401).length).toBeGreaterThan(30);
    // No key, a bad key: on an /api route (through the checking client) and on /metrics.
    const refusals = [
      await gw.client(null).get('/api/v1/generations'),
      await gw.client('not-a-key').post('/api/v1/characters', { name: 'X', slug: 'x', definition: kaiDefinition }),
    ];
    for (const refusal of refusals) expect({ status: refusal.status, challenge: refusal.headers.get('www-authenticate') }).toEqual({ status: 401, challenge: 'Bearer realm="api"' });
    const metrics = await checkedRaw(gw, '/metrics');
    expect({ status: metrics.status, challenge: metrics.headers['www-authenticate'] }).toEqual({ status: 401, challenge: 'Bearer realm="api"' });
    const refused = { method: 'GET', url: '/api/v1/generations', status: 401, contentType: 'application/json', body: refusals[0].body };
    expect(() => checkAgainstApiDocument({ ...refused, headers: { 'www-authenticate': 'Basic realm="x"' } })).toThrow(/WWW-Authenticate header \(Basic realm="x"\) does not match/);
    expect(() => checkAgainstApiDocument({ ...refused, status: 404, body: { error: { code: 'not_found', message: 'no' } }, headers: { 'www-authenticate': 'Bearer realm="api"' } })).toThrow(
      /WWW-Authenticate header the document does not declare/,
    );
  });

  describe('with the request rate limit at 2 a second and no burst', () => {
    let limited: TestGateway;

    beforeAll(async () => {
      limited = await startTestGateway('openapi-limits', { limits: { RATE_LIMIT_RPS: 2, RATE_LIMIT_BURST: 0 } });
    });

    afterAll(async () => {
      await limited?.close();
    });

    it('when an /api route answers, on success or 429, then it carries the RateLimit headers, which the document declares on every answer of every limited route but its 401', async () => {
      const { body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
      // The /api routes are limited once the key is known; the open ones (this document) and /metrics never.
      const wrong = documentedResponses(body).flatMap((r) => {
        const limitedRoute = r.path.startsWith('/api/v1/');
        const expected = limitedRoute && r.status !== 401 ? RATE_LIMIT_HEADERS : [];
        const declared = r.headers.filter((h) => RATE_LIMIT_HEADERS.includes(h));
        return declared.length === expected.length ? [] : [`${r.route} ${r.status}: ${declared.join(', ') || 'none'}`];
      });
      expect(wrong).toEqual([]);
      for (const name of RATE_LIMIT_HEADERS) expect(body.components.headers[name]).toMatchObject({ description: expect.any(String), schema: { type: expect.any(String) } });
      // A burst on a limited gateway, each answer checked against the document by the client.
      const api = limited.client();
      const answers = await Promise.all(Array.from({ length: 8 }, () => api.get('/api/v1/schemas')));
      const statuses = new Set(answers.map((a) => a.status));
      expect([...statuses].sort()).toEqual([200, 429]);
      for (const answer of answers) {
        expect(answer.headers.get('ratelimit-policy')).toBe('"requests";q=2;w=1');
        expect(answer.headers.get('ratelimit')).toMatch(/^"requests";r=\d+;t=\d+$/);
        expect(answer.headers.get('ratelimit-limit')).toBe('2');
      }
      // No key, no count; the document and /metrics are not limited.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const unlimited = [await checkedRaw(limited, '/api/v1/schemas'), await checkedRaw(limited, '/api/openapi.json'), await checkedRaw(limited, '/metrics', limited.authHeaders)];
      expect(unlimited.map((a) => a.status)).toEqual([401, 200, 200]);
      for (const answer of unlimited) expect(Object.keys(answer.headers).filter((h) => h.startsWith('ratelimit'))).toEqual([]);
      // Their values: both limits on a generation, and what the schemas refuse.
      const accepted = { method: 'POST', url: '/api/v1/generations', status: 202, contentType: 'application/json', body: { id: '6f1d8a52-1d54-4c38-9a53-2c3a5e0e7b11', status: 'queued' } };
      const both = { 'ratelimit-policy': '"requests";q=20;w=1, "cost";q=1000;w=60', ratelimit: '"requests";r=19;t=1, "cost";r=400;t=60', 'ratelimit-limit': '20', 'ratelimit-remaining': '19', 'ratelimit-reset': '1' };
      expect(() => checkAgainstApiDocument({ ...accepted, headers: both })).not.toThrow();
      expect(() => checkAgainstApiDocument({ ...accepted, headers: { ...both, 'ratelimit-policy': '"other";q=1;w=1' } })).toThrow(/RateLimit-Policy header .* does not match/);
      expect(() => checkAgainstApiDocument({ ...accepted, headers: { ...both, ratelimit: '"requests";r=-1;t=1' } })).toThrow(/RateLimit header .* does not match/);
      expect(() => checkAgainstApiDocument({ ...accepted, headers: { ...both, 'ratelimit-reset': '0' } })).toThrow(/RateLimit-Reset header \(0\) does not match/);
      const probe = { method: 'GET', url: '/healthz', status: 200, contentType: 'application/json', body: { status: 'ok', service: 'gateway' } };
      expect(() => checkAgainstApiDocument({ ...probe, headers: { 'ratelimit-limit': '2' } })).toThrow(/RateLimit-Limit header the document does not declare/);
    });

    it('when /metrics is asked for, then the document gives the answers it can give: never a 429 (it is not rate limited) nor a 404', async () => {
      const { body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
      expect(Object.keys(body.paths['/metrics'].get.responses).sort()).toEqual(['200', '304', '400', '401', '403', '503']);
      // Far over the limit the /api routes get: every scrape is served.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const scrapes = await Promise.all(Array.from({ length: 8 }, () => checkedRaw(limited, '/metrics', limited.authHeaders)));
      expect(scrapes.map((s) => s.status)).toEqual(Array(8).fill(200));
      // Its refusals: a bad query (checked for every route), no key, a key without `admin`.
      const reader = await limited.mintKey({ scopes: ['read'] });
      const refusals = [await checkedRaw(limited, '/metrics?x=%ff', limited.authHeaders), await checkedRaw(limited, '/metrics'), await checkedRaw(limited, '/metrics', { authorization: `Bearer ${reader}` })];
      expect(refusals.map((r) => [r.status, r.json?.error?.code])).toEqual([
        [400, 'validation_failed'],
        [401, 'unauthenticated'],
        [403, 'insufficient_scope'],
      ]);
    });
  });

  it('when a field is always sent, then the document requires it, even one that may hold any JSON value', async () => {
    const { body } = await jsonClient(gw.baseUrl).get('/api/openapi.json');
    const schemas = body.components.schemas;
    expect(schemas.Generation.required).toContain('request');
    expect(schemas.Generation.properties.attempts.items.required).toContain('error');
    expect(schemas.VersionDiff.properties.changes.items.required).toEqual(expect.arrayContaining(['path', 'before', 'after']));
    // A property whose schema says nothing of its type is optional only where the gateway leaves it out.
    const sometimesLeftOut = ['Error.error.details', 'JobError.details'];
    const optionalAny: string[] = [];
    const walk = (schema: unknown, where: string): void => {
      if (!schema || typeof schema !== 'object') return;
      const object = schema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
      for (const [name, property] of Object.entries(object.properties ?? {})) {
        const typeless = !['type', '$ref', 'anyOf', 'oneOf', 'allOf', 'enum', 'const', 'not'].some((k) => k in property);
        if (typeless && !object.required?.includes(name)) optionalAny.push(`${where}.${name}`);
        walk(property, `${where}.${name}`);
      }
      for (const [key, value] of Object.entries(schema)) if (key !== 'properties') walk(value, where);
    };
    for (const [name, schema] of Object.entries(schemas)) walk(schema, name);
    expect(optionalAny.filter((p) => !sometimesLeftOut.includes(p))).toEqual([]);
  });

  it('when /api/docs is opened, then Swagger UI is served by the gateway itself, pointed at the document', async () => {
    const page = await fetch(`${gw.baseUrl}/api/docs/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const init = await fetch(`${gw.baseUrl}/api/docs/swagger-ui-init.js`);
    expect(await init.text()).toContain('/api/openapi.json');
  });

  it("when /api/docs is opened in a browser, then its policy lets the page run its own scripts, styles and document fetch (the API's default-src 'none' would leave it blank), still never framed", async () => {
    const directives = (csp: string | null) => new Map((csp ?? '').split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    const page = await fetch(`${gw.baseUrl}/api/docs/`);
    const html = await page.text();
    const policy = directives(page.headers.get('content-security-policy'));
    // What the page loads: its scripts and stylesheet from here, an inline <style>, then /api/openapi.json.
    expect(html).toMatch(/<script src="\.\/swagger-ui-bundle\.js">/);
    expect(html).toMatch(/<style>/);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('style-src')).toEqual(expect.arrayContaining(["'self'", "'unsafe-inline'"]));
    expect(policy.get('img-src')).toEqual(expect.arrayContaining(["'self'", 'data:']));
    expect(policy.get('connect-src')).toEqual(["'self'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const answer = await fetch(`${gw.baseUrl}/api/docs/${asset}`);
      expect({ asset, status: answer.status }).toEqual({ asset, status: 200 });
      await answer.arrayBuffer();
    }
    // The API itself keeps the strict policy.
    const document = await fetch(`${gw.baseUrl}/api/openapi.json`);
    await document.arrayBuffer();
    expect(directives(document.headers.get('content-security-policy')).get('default-src')).toEqual(["'none'"]);
    expect(directives(document.headers.get('content-security-policy')).has('script-src')).toBe(false);
  });
});
