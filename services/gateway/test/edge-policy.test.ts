import { readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { kaiDefinition } from './fixtures';
import { jsonClient } from './http-client';
import { png } from './images';
import { multipart, rawRequest, type RawResponse } from './raw-request';

/** A raw request that carries the test gateway's admin key, as a real client would. */
const raw = (gateway: TestGateway, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) =>
  rawRequest(gateway.baseUrl, method, path, { ...gateway.authHeaders, ...headers }, body);
import { startTestGateway, type TestGateway } from './start-test-gateway';

const STUDIO = 'https://studio.example';
const EVIL = 'https://evil.example';

// `open`: no CORS_ORIGINS nor ALLOWED_HOSTS (the defaults); `strict`: one listed origin and two hosts.
let open: TestGateway;
let strict: TestGateway;

beforeAll(async () => {
  [open, strict] = await Promise.all([
    startTestGateway('edge-open'),
    startTestGateway('edge-strict', { edge: { corsOrigins: [STUDIO], allowedHosts: ['127.0.0.1', 'api.studio.test'] } }),
  ]);
  for (const gateway of [open, strict]) {
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  }
});
afterAll(async () => {
  await open?.close();
  await strict?.close();
});

const ownOrigin = (gateway: TestGateway) => gateway.baseUrl;
let imageSeed = 0;
// Other pixels each time: the same bytes again would be the same reference (200, not 201).
const referenceForm = async (label = 'front') => {
  const form = new FormData();
  form.set('label', label);
  form.set('file', new Blob([png(16, 16, ++imageSeed)], { type: 'image/png' }), 'front.png');
  return multipart(form);
};
const uploadReference = async (gateway: TestGateway, headers: Record<string, string>, label?: string) => {
  const { body, contentType } = await referenceForm(label);
  return raw(gateway, 'POST', '/api/v1/characters/kai/references', { ...headers, 'content-type': contentType }, body);
};
const expectError = (response: RawResponse, status: number, code: string) => {
  expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status, code });
  expect(response.json.error.message).toEqual(expect.any(String));
};

describe('security headers', () => {
  it('when any answer is sent (probe, list, 404, 400), then it carries nosniff, frame-ancestors none, no-referrer and no X-Powered-By', async () => {
    for (const gateway of [open, strict]) {
      for (const path of ['/healthz', '/readyz', '/api/v1/characters', '/api/v1/no-such-route', '/api/v1/generations/not-a-uuid', '/socket.io/?EIO=4&transport=polling', '/socket.io/?EIO=4&transport=bogus']) {
        const response = await raw(gateway, 'GET', path);
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
        expect(response.headers['content-security-policy']).toMatch(/default-src 'none'/);
        expect(response.headers['referrer-policy']).toBe('no-referrer');
        expect(response.headers['x-powered-by']).toBeUndefined();
      }
    }
  });
});

describe('CORS', () => {
  it('when CORS_ORIGINS is not set, then no origin is granted access, not even on a preflight', async () => {
    for (const origin of [STUDIO, EVIL, ownOrigin(open)]) {
      const read = await raw(open, 'GET', '/api/v1/characters', { origin });
      expect(read.status).toBe(200);
      expect(read.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await raw(open, 'OPTIONS', '/api/v1/generations', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('when an origin is listed, then it is granted access and may read the useful headers; others are not', async () => {
    const read = await raw(strict, 'GET', '/api/v1/characters', { origin: STUDIO });
    expect(read.headers['access-control-allow-origin']).toBe(STUDIO);
    expect(read.headers['access-control-expose-headers']).toMatch(/Location/);
    expect(read.headers['access-control-expose-headers']).toMatch(/Retry-After/);
    expect(read.headers.vary).toMatch(/Origin/);
    const preflight = await raw(strict, 'OPTIONS', '/api/v1/generations', { origin: STUDIO, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(STUDIO);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/i);
    const foreign = await raw(strict, 'GET', '/api/v1/characters', { origin: EVIL });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('state-changing requests from a foreign origin', () => {
  const storedFiles = async (gateway: TestGateway) => (await readdir(gateway.libraryDir, { recursive: true })).length;

  it('when a page of another origin posts a reference or a bundle (multipart, no preflight), then 403 origin_not_allowed and nothing is stored', async () => {
    for (const gateway of [open, strict]) {
      const before = await storedFiles(gateway);
      for (const origin of [EVIL, 'null', 'http://127.0.0.1.evil.example']) {
        expectError(await uploadReference(gateway, { origin }), 403, 'origin_not_allowed');
        const bundle = await multipart((() => {
          const form = new FormData();
          form.set('file', new Blob([Buffer.from('PK\u0005\u0006' + '\0'.repeat(18), 'latin1')], { type: 'application/zip' }), 'kai.zip');
          return form;
        })());
        expectError(await raw(gateway, 'POST', '/api/v1/characters/import', { origin, 'content-type': bundle.contentType }, bundle.body), 403, 'origin_not_allowed');
      }
      expect(await storedFiles(gateway)).toBe(before);
      expect(await gateway.db.characterReference.count()).toBe(0);
    }
  });

  it('when a foreign origin sends JSON writes or a DELETE, then 403 origin_not_allowed; reads still answer', async () => {
    const json = { 'content-type': 'application/json', origin: EVIL };
    expectError(await raw(open, 'POST', '/api/v1/generations', json, JSON.stringify({ character: 'kai', prompt: 'x' })), 403, 'origin_not_allowed');
    expectError(await raw(open, 'POST', '/api/v1/characters', json, JSON.stringify({ name: 'Mio', slug: 'mio', definition: kaiDefinition })), 403, 'origin_not_allowed');
    expectError(await raw(open, 'DELETE', '/api/v1/characters/kai', { origin: EVIL }), 403, 'origin_not_allowed');
    expect((await raw(open, 'GET', '/api/v1/characters/kai', { origin: EVIL })).status).toBe(200);
    expect(await open.db.character.count({ where: { archivedAt: { not: null } } })).toBe(0);
  });

  it('when the Origin is the gateway itself, a listed origin, or absent (not a browser), then the write goes through', async () => {
    expect((await uploadReference(open, { origin: ownOrigin(open) }, 'own')).status).toBe(201);
    expect((await uploadReference(open, {}, 'no-origin')).status).toBe(201);
    expect((await uploadReference(strict, { origin: STUDIO }, 'listed')).status).toBe(201);
  });
});

describe('ALLOWED_HOSTS', () => {
  it('when the Host is not listed, then 400 host_not_allowed; listed names (any port) and probes pass', async () => {
    expectError(await raw(strict, 'GET', '/api/v1/characters', { host: 'evil.test' }), 400, 'host_not_allowed');
    expectError(await raw(strict, 'GET', '/api/v1/characters', { host: 'api.studio.test.evil.test' }), 400, 'host_not_allowed');
    expect((await raw(strict, 'GET', '/api/v1/characters', { host: 'API.studio.test:8443' })).status).toBe(200);
    expect((await raw(strict, 'GET', '/readyz', { host: '10.1.2.3:8080' })).status).toBe(200);
  });

  it('when ALLOWED_HOSTS is not set, then any Host is answered', async () => {
    expect((await raw(open, 'GET', '/api/v1/characters', { host: 'whatever.example' })).status).toBe(200);
  });
});

describe('Socket.IO handshakes', () => {
  const handshake = (gateway: TestGateway, headers: Record<string, string>) => raw(gateway, 'GET', '/socket.io/?EIO=4&transport=polling', headers);
  /** The status of a WebSocket upgrade to Socket.IO: 101 when accepted. */
  const upgrade = (gateway: TestGateway, origin?: string) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL('/socket.io/?EIO=4&transport=websocket', gateway.baseUrl);
      const req = request({
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        agent: false,
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...(origin ? { origin } : {}) },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('when a browser of a foreign origin opens a socket (polling or WebSocket), then it is refused', async () => {
    for (const gateway of [open, strict]) {
      const refused = await handshake(gateway, { origin: EVIL });
      expect(refused.status).toBe(403);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
      // Engine.io refuses a WebSocket upgrade with 400 whatever the reason.
      expect(await upgrade(gateway, EVIL)).toBe(400);
    }
  });

  it('when the origin is listed, the gateway\'s own, or absent, then the handshake succeeds (listed ones with CORS)', async () => {
    const listed = await handshake(strict, { origin: STUDIO });
    expect(listed.status).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe(STUDIO);
    expect((await handshake(open, { origin: ownOrigin(open) })).status).toBe(200);
    expect((await handshake(open, {})).status).toBe(200);
    expect(await upgrade(strict, STUDIO)).toBe(101);
    expect(await upgrade(open)).toBe(101);
  });

  it('when the Host is not allowed, then the handshake is refused', async () => {
    expect((await handshake(strict, { host: 'evil.test' })).status).toBe(403);
  });

  it('when Socket.IO refuses an HTTP request itself (foreign origin or Host, unknown transport or session, old protocol, bad polling body), then the answer is the JSON error envelope with a snake_case code', async () => {
    expectError(await handshake(open, { origin: EVIL }), 403, 'origin_not_allowed');
    expectError(await handshake(strict, { host: 'evil.test' }), 403, 'host_not_allowed');
    expectError(await raw(open, 'GET', '/socket.io/?EIO=4&transport=bogus'), 400, 'unknown_transport');
    expectError(await raw(open, 'GET', '/socket.io/'), 400, 'unknown_transport');
    expectError(await raw(open, 'GET', '/socket.io/?EIO=4&transport=polling&sid=no-such-session'), 400, 'unknown_session');
    expectError(await raw(open, 'GET', '/socket.io/?EIO=3&transport=polling'), 400, 'unsupported_protocol_version');
    expectError(await raw(open, 'GET', '/socket.io/?EIO=4&transport=websocket'), 400, 'bad_request');
    // Engine.io's transports answer some faults with a bare status: JSON too.
    const session = await handshake(open, {});
    const sid = (JSON.parse(session.text.slice(1)) as { sid: string }).sid;
    // A second long-poll while one is open: engine.io's polling transport answers a bare 400.
    const polls = await Promise.all([0, 1].map(() => raw(open, 'GET', `/socket.io/?EIO=4&transport=polling&sid=${sid}`)));
    const refusedPolls = polls.filter((poll) => poll.status >= 400);
    expect(refusedPolls).toHaveLength(1);
    expectError(refusedPolls[0], 400, 'bad_request');
    for (const refused of [await handshake(open, { origin: EVIL }), await raw(open, 'GET', '/socket.io/?EIO=4&transport=bogus')]) {
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(refused.json)).toEqual(['error']);
    }
    // What Socket.IO answers with success is untouched.
    expect(session.status).toBe(200);
    expect(session.text).toMatch(/^0\{"sid":/);
  });
});

describe('downloads', () => {
  const SAFE_DISPOSITION = /^attachment; filename="[A-Za-z0-9._-]+"(; filename\*=UTF-8''[A-Za-z0-9%._~!$&'()*+,=:@-]+)?$/;

  it('when a reference file is downloaded, then it is an attachment whose name has no quotes, line breaks or path separators', async () => {
    const label = 'evil"\r\nSet-Cookie: x=1; ../../étoile 星';
    const uploaded = await uploadReference(open, {}, label);
    expect(uploaded.status).toBe(201);
    const file = await raw(open, 'GET', uploaded.json.url);
    expect(file.status).toBe(200);
    const disposition = String(file.headers['content-disposition']);
    expect(disposition).toMatch(SAFE_DISPOSITION);
    expect(disposition).toMatch(/\.png"/);
    expect(file.headers['set-cookie']).toBeUndefined();
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(disposition)![1])).toMatch(/étoile 星\.png$/);
  });

  it('when a character bundle is exported, then it is an attachment named after the slug', async () => {
    const bundle = await raw(open, 'GET', '/api/v1/characters/kai/export');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-disposition']).toBe('attachment; filename="kai.zip"');
  });
});
