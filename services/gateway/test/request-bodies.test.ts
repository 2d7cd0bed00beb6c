import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
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

/** An error answer in the contract's shape, saying nothing about an `undefined` field; each details entry of a validation error names its path. */
function expectClearRefusal(response: RawResponse): void {
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.json?.error).toEqual(expect.objectContaining({ code: expect.stringMatching(/^[a-z]+(_[a-z]+)*$/), message: expect.any(String) }));
  expect(response.text).not.toContain('undefined');
  if (response.json.error.code === 'validation_failed') {
    expect(response.json.error.details).toEqual(expect.any(Array));
    for (const entry of response.json.error.details) expect(entry).toEqual({ path: expect.any(String), message: expect.any(String) });
  }
}

describe('bodies the JSON parser cannot decompress', () => {
  const json = '{"character":"kai","prompt":"x"}';
  const undecodable: [string, string, Buffer | string][] = [
    ['gzip garbage', 'gzip', 'garbage!!'],
    ['a truncated gzip stream', 'gzip', gzipSync(json).subarray(0, 10)],
    ['deflate garbage', 'deflate', 'garbage!!'],
    ['brotli garbage', 'br', 'garbage!!'],
  ];

  it.each(undecodable)('when a JSON body is %s, then 400 invalid_content_encoding names the encoding, not a bare "Bad Request"', async (_what, encoding, body) => {
    const before = await gateway.db.generationJob.count();
    const response = await send('POST', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': encoding }, body);
    expectError(response, 400, 'invalid_content_encoding');
    expect(response.json.error.message).toBe(`the body could not be decompressed as Content-Encoding "${encoding}"`);
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the body is well compressed (gzip, deflate, br), then it is read', async () => {
    for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
      expect((await send('POST', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': encoding }, compress(json))).status).toBe(202);
    }
  });
});

describe('bodies the upload routes cannot read', () => {
  const uploadRoutes = ['/api/v1/characters/kai/references', '/api/v1/characters/import'];
  const form = (disposition: string, partType = '') => Buffer.from(`--x\r\nContent-Disposition: form-data${disposition && `; ${disposition}`}\r\n${partType}\r\nabc\r\n--x--\r\n`);
  const MULTIPART = { 'content-type': 'multipart/form-data; boundary=x' };

  it.each(uploadRoutes)('when %s gets an urlencoded form (with a charset there is no decoder for, or none), then 415 unsupported_media_type asks for multipart, never a field "undefined"', async (path) => {
    for (const type of ['application/x-www-form-urlencoded; charset=x-bogus', 'application/x-www-form-urlencoded']) {
      const response = await send('POST', path, { 'content-type': type }, 'label=abc&kind=face');
      expectError(response, 415, 'unsupported_media_type');
      expect(response.json.error).toEqual({ code: 'unsupported_media_type', message: 'send multipart/form-data with the file in a "file" part', details: { accepted: ['multipart/form-data'] } });
    }
  });

  it.each(uploadRoutes)('when %s gets a compressed multipart body, then 415 unsupported_media_type names the encoding, not "Unexpected end of form"', async (path) => {
    const response = await send('POST', path, { ...MULTIPART, 'content-encoding': 'gzip' }, gzipSync(form('name="file"; filename="a.png"')));
    expectError(response, 415, 'unsupported_media_type');
    expect(response.json.error.message).toBe('an upload is read as sent: Content-Encoding "gzip" is not supported');
  });

  it('when a multipart field has no name and a charset there is no decoder for, then it is dropped as a nameless file part is: the refusal is about the missing file', async () => {
    const response = await send('POST', uploadRoutes[0], MULTIPART, form('', 'Content-Type: text/plain; charset=x-bogus\r\n'));
    expectClearRefusal(response);
    expect(response.json.error.details).toEqual([{ path: 'file', message: expect.stringContaining('required') }]);
  });
});

describe('every kind of body the parsers refuse', () => {
  const json = '{"character":"kai","prompt":"x"}';
  const refused: [string, string, Record<string, string>, Buffer | string, number][] = [
    ['a form with a charset there is no decoder for, to an upload route', '/api/v1/characters/kai/references', { 'content-type': 'application/x-www-form-urlencoded; charset=x-bogus' }, 'label=abc', 415],
    ['a form with a charset there is no decoder for, to a JSON route', '/api/v1/generations', { 'content-type': 'application/x-www-form-urlencoded; charset=x-bogus' }, 'character=kai', 415],
    ['text with a charset there is no decoder for, to an upload route', '/api/v1/characters/kai/references', { 'content-type': 'text/plain; charset=x-bogus' }, 'abc', 415],
    ['JSON with a charset there is no decoder for', '/api/v1/generations', { 'content-type': 'application/json; charset=x-bogus' }, json, 415],
    ['JSON in an unknown content-encoding', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': 'snappy' }, json, 415],
    ['JSON in gzip garbage', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': 'gzip' }, 'garbage!!', 400],
    ['JSON in deflate garbage', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': 'deflate' }, 'garbage!!', 400],
    ['JSON that inflates past the limit', '/api/v1/generations', { ...JSON_TYPE, 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(5_000_000, 32)), 413],
    ['JSON past the limit, with Content-Length', '/api/v1/generations', JSON_TYPE, Buffer.alloc(2_000_000, 32), 413],
    ['JSON past the limit, chunked', '/api/v1/generations', { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, Buffer.alloc(2_000_000, 32), 413],
    ['a multipart form whose field has no name and an unreadable charset', '/api/v1/characters/kai/references', { 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\nContent-Disposition: form-data\r\nContent-Type: text/plain; charset=x-bogus\r\n\r\nabc\r\n--x--\r\n', 400],
  ];

  it.each(refused)('when the body is %s, then a clear 4xx in the error envelope', async (_what, path, headers, body, status) => {
    const response = await send('POST', path, headers, body);
    expect(response.status).toBe(status);
    expectClearRefusal(response);
  });
});
