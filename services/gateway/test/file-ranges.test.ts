import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { kaiDefinition } from './fixtures';
import { png } from './images';
import { checkAgainstApiDocument } from './openapi-conformance';
import { rawRequest, type RawResponse } from './raw-request';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
const image = png(16, 16, 5);
/** The two download routes, each serving `image`. */
const files: Record<'asset' | 'reference', string> = { asset: '', reference: '' };
/** The row behind each file, to point its stored path elsewhere. */
const rows: Record<'asset' | 'reference', string> = { asset: '', reference: '' };

beforeAll(async () => {
  gateway = await startTestGateway('file-ranges');
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  // The upload first, right after the request before it: its keep-alive connection is not left idle
  // while the test writes the asset (under load, past the client's keep-alive, the gateway closed it
  // as the upload was sent: ECONNRESET).
  const form = new FormData();
  form.set('file', new Blob([image], { type: 'image/png' }), 'front.png');
  const reference = (await api.post('/api/v1/characters/kai/references', form)).body;
  files.reference = reference.url;
  rows.reference = reference.id;
  // An asset as the file-organizer files it: a row and its file in the library.
  const created = await api.post('/api/v1/generations', { character: 'kai', prompt: 'ranges' });
  const job = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: created.body.id } });
  await mkdir(path.join(gateway.libraryDir, 'default'), { recursive: true });
  await writeFile(path.join(gateway.libraryDir, 'default', `${job.id}.png`), image);
  const asset = await gateway.db.asset.create({
    data: {
      jobId: job.id, characterVersionId: job.characterVersionId!, sourceKey: 'out-1', path: `default/${job.id}.png`, sha256: sha256Hex(image),
      bytes: image.length, width: 16, height: 16, mime: 'image/png', project: 'default', episode: 'ep00', scene: 'sc000', metadata: {},
    },
  });
  files.asset = `/api/v1/assets/${asset.id}/file`;
  rows.asset = asset.id;
});
afterAll(() => gateway?.close());

/** A GET with the admin key and these headers; its answer must be one the API document describes. */
async function get(url: string, headers: Record<string, string>): Promise<RawResponse> {
  const response = await rawRequest(gateway.baseUrl, 'GET', url, { ...gateway.authHeaders, ...headers });
  checkAgainstApiDocument({ method: 'GET', url, status: response.status, contentType: String(response.headers['content-type'] ?? ''), body: response.json, headers: response.headers });
  return response;
}

describe.each(['asset', 'reference'] as const)('Range and conditional requests on the %s file', (which) => {
  it('when a range inside the file is asked for, then 206 with those bytes', async () => {
    const response = await get(files[which], { range: 'bytes=0-7' });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe(`bytes 0-7/${image.length}`);
  });

  it('when the whole file is asked for, then 200 with its validators and Accept-Ranges, each declared by the API document', async () => {
    // get() fails on a header the document does not declare for the answer's status.
    const response = await get(files[which], {});
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ etag: `"${sha256Hex(image)}"`, 'last-modified': expect.any(String), 'accept-ranges': 'bytes' });
  });

  it('when the range starts past the end of the file, then 416 range_not_satisfiable, as JSON', async () => {
    const response = await get(files[which], { range: 'bytes=999999-' });
    expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status: 416, code: 'range_not_satisfiable' });
    expect(response.headers['content-range']).toBe(`bytes */${image.length}`);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['content-disposition']).toBeUndefined();
  });

  it('when If-Match names another version of the file, then 412 precondition_failed, as JSON', async () => {
    const response = await get(files[which], { 'if-match': '"not-this-one"' });
    expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status: 412, code: 'precondition_failed' });
  });
});

describe.each(['asset', 'reference'] as const)('Answers of the %s file that the API document must declare', (which) => {
  it('when If-None-Match names its ETag, then 304 with no body', async () => {
    const etag = String((await get(files[which], {})).headers.etag);
    const response = await get(files[which], { 'if-none-match': etag });
    expect({ status: response.status, text: response.text }).toEqual({ status: 304, text: '' });
    expect(response.headers).toMatchObject({ etag, 'last-modified': expect.any(String) });
  });

  it('when its stored path lies outside the library, then 409 as JSON, never the file', async () => {
    const setPath = (data: { path: string }) =>
      which === 'asset' ? gateway.db.asset.update({ where: { id: rows.asset }, data }) : gateway.db.characterReference.update({ where: { id: rows.reference }, data });
    const { path: original } = await setPath({ path: '../outside.png' });
    try {
      const response = await get(files[which], {});
      expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status: 409, code: `${which}_path_invalid` });
    } finally {
      await setPath({ path: original });
    }
  });
});
