import { gzipSync } from 'node:zlib';
import { API_ROUTES } from '../src/http/openapi/api-routes';
import { kaiDefinition } from './fixtures';
import { checkAgainstApiDocument } from './openapi-conformance';
import { rawRequest, type RawResponse } from './raw-request';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway('request-bodies');
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

/** A request with exactly these headers (and the admin key) and these bytes; its answer must be one the API document describes. */
async function send(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<RawResponse> {
  const response = await rawRequest(gateway.baseUrl, method, path, { ...gateway.authHeaders, ...headers }, body);
  checkAgainstApiDocument({ method, url: path, status: response.status, contentType: String(response.headers['content-type'] ?? ''), body: response.json, headers: response.headers });
  return response;
}
const JSON_TYPE = { 'content-type': 'application/json' };
const expectError = (response: RawResponse, status: number, code: string) => {
  expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status, code });
  expect(response.json.error.message).toEqual(expect.any(String));
};
const generationBody = (prompt: Buffer) => Buffer.concat([Buffer.from('{"character":"kai","prompt":"'), prompt, Buffer.from('"}')]);

describe('JSON bodies that are not valid UTF-8', () => {
  const invalid: [string, number[]][] = [
    ['bytes that cannot start UTF-8', [0xff, 0xfe]],
    ['a truncated sequence', [0xe6, 0x97]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a UTF-16 surrogate encoded as UTF-8 (CESU)', [0xed, 0xa0, 0x80]],
  ];

  it.each(invalid)('when a body holds %s, then 400 validation_failed on (body) and nothing is stored, never U+FFFD', async (_what, bytes) => {
    const before = await gateway.db.generationJob.count();
    const response = await send('POST', '/api/v1/generations', JSON_TYPE, generationBody(Buffer.from(bytes)));
    expectError(response, 400, 'validation_failed');
    expect(response.json.error.details).toEqual([{ path: '(body)', message: expect.stringContaining('UTF-8') }]);
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when such a body comes gzip-compressed, then its inflated bytes are checked the same', async () => {
    const response = await send('POST', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': 'gzip' }, gzipSync(generationBody(Buffer.from([0xff]))));
    expectError(response, 400, 'validation_failed');
  });

  it('when a body is valid UTF-8 with multi-byte characters, then it is accepted and stored as sent', async () => {
    const prompt = '日本の 🌸 café';
    const response = await send('POST', '/api/v1/generations', { 'content-type': 'application/json; charset=utf-8' }, generationBody(Buffer.from(prompt)));
    expect(response.status).toBe(202);
    const row = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: response.json.id } });
    expect((row.request as { prompt: string }).prompt).toBe(prompt);
  });
});

describe('bodies the JSON parser cannot read', () => {
  it('when a JSON body declares a charset other than UTF (latin1), then 415 unsupported_media_type', async () => {
    expectError(await send('POST', '/api/v1/generations', { 'content-type': 'application/json; charset=latin1' }, '{"character":"kai","prompt":"x"}'), 415, 'unsupported_media_type');
  });

  it('when a JSON body comes in an unknown content-encoding, then 415 unsupported_media_type', async () => {
    expectError(await send('POST', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': 'snappy' }, '{"character":"kai","prompt":"x"}'), 415, 'unsupported_media_type');
  });
});

describe('bodies that are not JSON, on routes that take JSON', () => {
  // Every route the API document says takes a JSON body (the upload routes take multipart).
  const jsonRoutes = API_ROUTES.filter((route) => route.body && route.body.contentType !== 'multipart/form-data').map(
    (route) => `${route.method.toUpperCase()} ${route.path.replace(':idOrSlug', 'kai').replace(':id', '00000000-0000-4000-8000-000000000000')}`,
  );
  const notJson: [string, Record<string, string>, string][] = [
    ['text/plain', { 'content-type': 'text/plain' }, '{"character":"kai","prompt":"x"}'],
    ['a form (curl -d)', { 'content-type': 'application/x-www-form-urlencoded' }, 'character=kai&prompt=x'],
    ['no content type at all', {}, '{"character":"kai","prompt":"x"}'],
  ];

  it('when the document is read, then the JSON routes are the ones expected', () => {
    expect(jsonRoutes.length).toBeGreaterThanOrEqual(6);
    expect(jsonRoutes).toEqual(expect.arrayContaining(['POST /api/v1/generations', 'POST /api/v1/generations/00000000-0000-4000-8000-000000000000/retry', 'POST /api/v1/characters', 'POST /api/v1/workflows']));
  });

  it.each(notJson)('when a body is sent as %s, then every JSON route answers 415 unsupported_media_type, not a misleading 400', async (_what, headers, body) => {
    const before = await gateway.db.generationJob.count();
    const answers: string[] = [];
    for (const route of jsonRoutes) {
      const [method, path] = route.split(' ');
      const response = await send(method, path, headers, body);
      answers.push(`${route} → ${response.status} ${response.json?.error?.code}`);
    }
    expect(answers).toEqual(jsonRoutes.map((route) => `${route} → 415 unsupported_media_type`));
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the JSON type is spelled in capitals or with charset=utf-8, then the body is read', async () => {
    for (const type of ['Application/JSON', 'application/json; charset=UTF-8']) {
      expect((await send('POST', '/api/v1/generations', { 'content-type': type }, '{"character":"kai","prompt":"x"}')).status).toBe(202);
    }
  });
});

describe('POSTs without a body', () => {
  beforeAll(async () => {
    await gateway.db.backend.create({ data: { id: 'aaaaaaaaaaaa', url: 'http://127.0.0.1:8188', state: 'up' } });
  });
  // As the CLI sends them (no body, no content type), and as fetch does with `body: ''` (text/plain, length 0).
  const bodyless: [string, Record<string, string>, string | undefined][] = [
    ['no body and no content type', {}, undefined],
    ['an empty text/plain body', { 'content-type': 'text/plain;charset=UTF-8' }, ''],
    ['an empty form body (curl -d "")', { 'content-type': 'application/x-www-form-urlencoded' }, ''],
  ];

  it.each(bodyless)('when cancel, retry, drain, undrain, pause and resume are sent with %s, then they are served as before', async (_what, headers, body) => {
    // Queued: not retryable (409) until canceled (202).
    const generationId = (await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'to cancel' })).body.id;
    const routes: [string, number][] = [
      [`/api/v1/generations/${generationId}/retry`, 409],
      [`/api/v1/generations/${generationId}/cancel`, 202],
      ['/api/v1/backends/aaaaaaaaaaaa/drain', 200],
      ['/api/v1/backends/aaaaaaaaaaaa/undrain', 200],
      ['/api/v1/queues/generation-requests/pause', 200],
      ['/api/v1/queues/generation-requests/resume', 200],
    ];
    for (const [path, status] of routes) {
      const response = await send('POST', path, headers, body);
      expect({ path, status: response.status }).toEqual({ path, status });
    }
  });
});
