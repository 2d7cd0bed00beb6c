import { execFile } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROGRAMS, findRepoRoot } from '@anime/stack';
import { waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { jsonClient, type JsonResponse } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

const run = promisify(execFile);
const REPO = findRepoRoot(__dirname);

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway('api-keys');
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

function expectUnauthenticated(response: JsonResponse) {
  expect(response.status).toBe(401);
  expect(response.body.error.code).toBe('unauthenticated');
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
}

function expectScopeMissing(response: JsonResponse, scope: string) {
  expect(response.status).toBe(403);
  expect(response.body.error).toMatchObject({ code: 'insufficient_scope', details: { scope } });
}

describe('API keys on the REST API', () => {
  it('when a request carries no key, a malformed one, an unknown one or another scheme, then it is 401 unauthenticated with WWW-Authenticate: Bearer', async () => {
    expectUnauthenticated(await gateway.client(null).get('/api/v1/characters'));
    expectUnauthenticated(await gateway.client('nope').get('/api/v1/generations'));
    expectUnauthenticated(await gateway.client(`ak_${'A'.repeat(43)}`).get('/api/v1/generations'));
    expectUnauthenticated(await gateway.client('ak_' + 'x'.repeat(5_000)).get('/api/v1/generations'));
    const basic = await fetch(`${gateway.baseUrl}/api/v1/characters`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    expect(basic.status).toBe(401);
    // Unknown routes under /api are not probed without a key either.
    expectUnauthenticated(await gateway.client(null).get('/api/v1/nothing-here'));
    expectUnauthenticated(await gateway.client(null).post('/api/v1/generations', { character: 'kai', prompt: 'x' }));
  });

  it('when a request carries two Authorization headers, then it is 401 unauthenticated whichever comes first (never one of them picked)', async () => {
    const reader = await gateway.mintKey({ scopes: ['read'] });
    const twice = (first: string, second: string, target = '/api/v1/characters') =>
      new Promise<{ status: number; body: any; authenticate: string | undefined }>((resolve, reject) => {
        const url = new URL(target, gateway.baseUrl);
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), authenticate: res.headers['www-authenticate'] }));
        });
        // An array sends the header once per entry (fetch would join them into one).
        req.setHeader('authorization', [first, second]);
        req.on('error', reject);
        req.end();
      });
    for (const [first, second] of [
      [`Bearer ${reader}`, 'Bearer ak_someone-else'],
      ['Bearer ak_someone-else', `Bearer ${reader}`],
      [`Bearer ${reader}`, `Bearer ${gateway.apiKey}`],
    ]) {
      const answer = await twice(first, second);
      expect({ status: answer.status, code: answer.body.error?.code, message: answer.body.error?.message }).toEqual({ status: 401, code: 'unauthenticated', message: expect.stringMatching(/one Authorization header/) });
      expect(answer.authenticate).toMatch(/^Bearer/);
    }
    // The admin-only metrics and the queue board likewise.
    expect((await twice(`Bearer ${gateway.apiKey}`, `Bearer ${gateway.apiKey}`, '/metrics')).status).toBe(401);
    expect((await twice(`Bearer ${gateway.apiKey}`, `Basic ${Buffer.from(`x:${gateway.apiKey}`).toString('base64')}`, '/admin/queues/api/queues')).status).toBe(401);
  });

  it('when /healthz or /readyz is asked without a key, then it answers', async () => {
    expect((await fetch(`${gateway.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${gateway.baseUrl}/readyz`)).status).toBe(200);
  });

  it('when a key has expired, then it is 401', async () => {
    const key = await gateway.mintKey({ scopes: ['read'], expiresAt: new Date(Date.now() + 1_000) });
    expect((await gateway.client(key).get('/api/v1/characters')).status).toBe(200);
    await waitFor(async () => (await gateway.client(key).get('/api/v1/characters')).status === 401, 'the key to expire', 5_000, 200);
    expectUnauthenticated(await gateway.client(key).get('/api/v1/characters'));
  });

  it('when a key is revoked with pnpm apikey:revoke, then the very next request with it is 401 (nothing cached)', async () => {
    const key = await gateway.mintKey({ name: 'to-revoke', scopes: ['read'] });
    const api = gateway.client(key);
    expect((await api.get('/api/v1/characters')).status).toBe(200);
    await run(process.execPath, [path.join(REPO, PROGRAMS['apikey:revoke'].compiled), 'to-revoke'], { env: { ...process.env, DATABASE_URL: gateway.database.url } });
    expectUnauthenticated(await api.get('/api/v1/characters'));
  });

  it('when a key lacks the scope a route needs, then it is 403 insufficient_scope naming that scope', async () => {
    const noneKey = await gateway.mintKey({ scopes: ['generate'] });
    const readerKey = await gateway.mintKey({ scopes: ['read'] });
    const none = gateway.client(noneKey);
    const reader = gateway.client(readerKey);
    const generator = gateway.client(await gateway.mintKey({ scopes: ['read', 'generate'] }));
    const writer = gateway.client(await gateway.mintKey({ scopes: ['read', 'characters:write'] }));
    const generation = { character: 'kai', prompt: 'on a rooftop' };

    // Every GET needs read.
    for (const route of ['/api/v1/generations', '/api/v1/characters', '/api/v1/characters/kai', '/api/v1/workflows', '/api/v1/backends', '/api/v1/queues', '/api/v1/schemas/generation-request']) {
      expectScopeMissing(await none.get(route), 'read');
      expect((await reader.get(route)).status).toBe(200);
    }
    const exported = (token: string) => fetch(`${gateway.baseUrl}/api/v1/characters/kai/export`, { headers: { authorization: `Bearer ${token}` } });
    const denied = await exported(noneKey);
    expectScopeMissing({ status: denied.status, headers: denied.headers, body: await denied.json() }, 'read');
    expect((await exported(readerKey)).status).toBe(200);
    // Generations: generate; interactive also generate:interactive.
    expectScopeMissing(await reader.post('/api/v1/generations', generation), 'generate');
    const created = await generator.post('/api/v1/generations', generation);
    expect(created.status).toBe(202);
    expectScopeMissing(await generator.post('/api/v1/generations', { ...generation, priority: 'interactive' }), 'generate:interactive');
    const interactive = gateway.client(await gateway.mintKey({ scopes: ['generate', 'generate:interactive'] }));
    expect((await interactive.post('/api/v1/generations', { ...generation, priority: 'interactive' })).status).toBe(202);
    expectScopeMissing(await reader.post(`/api/v1/generations/${created.body.id}/cancel`), 'generate');
    expectScopeMissing(await reader.post(`/api/v1/generations/${created.body.id}/retry`), 'generate');
    expect((await generator.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);

    // Characters: characters:write for every write.
    const newCharacter = { name: 'Mika', slug: 'mika', definition: { ...kaiDefinition, displayName: 'Mika' } };
    expectScopeMissing(await generator.post('/api/v1/characters', newCharacter), 'characters:write');
    expect((await writer.post('/api/v1/characters', newCharacter)).status).toBe(201);
    expectScopeMissing(await generator.post('/api/v1/characters/mika/versions', { definition: kaiDefinition }), 'characters:write');
    expectScopeMissing(await generator.call('POST', '/api/v1/characters/mika/references', new FormData()), 'characters:write');
    expectScopeMissing(await generator.delete('/api/v1/characters/mika/references/00000000-0000-4000-8000-000000000000'), 'characters:write');
    expectScopeMissing(await generator.call('POST', '/api/v1/characters/import', new FormData()), 'characters:write');
    expectScopeMissing(await generator.delete('/api/v1/characters/mika'), 'characters:write');
    expect((await writer.delete('/api/v1/characters/mika')).status).toBe(200);

    // Operations: admin.
    for (const route of ['/api/v1/workflows', '/api/v1/backends/b1/drain', '/api/v1/backends/b1/undrain', '/api/v1/queues/generation-requests/pause', '/api/v1/queues/generation-requests/resume']) {
      expectScopeMissing(await writer.post(route, {}), 'admin');
    }
    // A write no route table row names is admin-only.
    expectScopeMissing(await writer.post('/api/v1/something-new', {}), 'admin');
  });

  it('when a route is asked in another letter case or with a trailing slash (Express routes it the same), then it needs the same scope', async () => {
    const readerKey = await gateway.mintKey({ scopes: ['read'] });
    const metrics = async (route: string, token: string) => {
      const res = await fetch(`${gateway.baseUrl}${route}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, headers: res.headers, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
    };
    // Prometheus text tells about every project: admin only, however the path is spelled.
    for (const route of ['/metrics', '/metrics/', '/METRICS', '/Metrics/']) {
      expectScopeMissing(await metrics(route, readerKey), 'admin');
      expect((await metrics(route, gateway.apiKey)).status).toBe(200);
    }
    const generatorKey = await gateway.mintKey({ scopes: ['read', 'generate'] });
    const generator = gateway.client(generatorKey);
    const generation = { character: 'kai', prompt: 'on a rooftop' };
    for (const route of ['/api/v1/generations/', '/API/V1/Generations']) {
      expectScopeMissing(await generator.post(route, { ...generation, priority: 'interactive' }), 'generate:interactive');
      // Not a spelling the OpenAPI document names (the JSON client checks answers against it): plain fetch.
      const created = await fetch(`${gateway.baseUrl}${route}`, { method: 'POST', headers: { authorization: `Bearer ${generatorKey}`, 'content-type': 'application/json' }, body: JSON.stringify(generation) });
      expect(created.status).toBe(202);
    }
    expectScopeMissing(await gateway.client(readerKey).post('/API/v1/Generations', generation), 'generate');
  });

  it('when an admin key is used, then every scope is granted', async () => {
    expect((await gateway.client().post('/api/v1/queues/generation-requests/pause')).status).toBe(200);
    expect((await gateway.client().post('/api/v1/queues/generation-requests/resume')).status).toBe(200);
  });

  it('when a key is used, then its lastUsedAt is recorded (at most about once a minute)', async () => {
    const key = await gateway.mintKey({ name: 'used', scopes: ['read'] });
    await gateway.client(key).get('/api/v1/characters');
    const first = await waitFor(async () => (await gateway.db.apiKey.findFirstOrThrow({ where: { name: 'used' } })).lastUsedAt, 'lastUsedAt');
    await gateway.client(key).get('/api/v1/characters');
    await new Promise((r) => setTimeout(r, 200));
    expect((await gateway.db.apiKey.findFirstOrThrow({ where: { name: 'used' } })).lastUsedAt).toEqual(first);
  });

  it('when a generation is created with a key, then the generation remembers the key', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'provenance' });
    const row = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: created.body.id }, include: { apiKey: { select: { name: true } } } });
    expect(row.apiKey?.name).toBe('test-admin');
  });
});

// Each on the file's database (the main gateway's): what they check is where they listen, not what the database holds.
describe('AUTH_MODE=off', () => {
  it('when auth is off, then the gateway listens on 127.0.0.1 only (even when asked for 0.0.0.0) and answers without a key', async () => {
    const open = await startTestGateway('auth-off', { authMode: 'off', host: '0.0.0.0', database: gateway.database });
    try {
      expect(open.address).toBe('127.0.0.1');
      const response = await jsonClient(open.baseUrl, null).get('/api/v1/characters');
      expect(response.status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('when auth is on (the default), then the gateway listens where it was asked', async () => {
    const on = await startTestGateway('auth-on-host', { host: '0.0.0.0', database: gateway.database });
    try {
      expect(on.address).toBe('0.0.0.0');
    } finally {
      await on.close();
    }
  });
});
