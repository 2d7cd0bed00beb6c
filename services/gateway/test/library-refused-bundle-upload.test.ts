import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { withFileSizeLimit } from '@anime/testing';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway('lib-refused-bundle', { importConcurrency: 1 });
});
afterAll(() => gateway?.close());

/** A bundle import's upload, sent whole; the answer (or the abort) within `timeoutMs`. */
async function importUpload(bytes: Buffer, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const form = new FormData();
  form.set('file', new Blob([bytes], { type: 'application/zip' }), 'bundle.zip');
  const answer = await fetch(`${gateway.baseUrl}/api/v1/characters/import`, { method: 'POST', body: form, headers: gateway.authHeaders, signal: AbortSignal.timeout(timeoutMs) });
  return { status: answer.status, body: await answer.json() };
}

/**
 * The library volume refuses writes (here EFBIG, the process's file-size limit, as a full disk's
 * ENOSPC would) while a bundle import's upload is being saved to its workspace on that volume.
 */
describe('a bundle import whose upload the library refuses to store', () => {
  it('when the upload is far larger than what the library takes, then the answer is 503 library_unavailable at once (the rest of the body read and dropped), the workspace is removed, and the import slot is free again', async () => {
    // 3 MB: far more than the socket and the parser buffer, so the parser has to go on reading after the refusal.
    // Before: the refused write destroyed the file part, the parser waited for ever for it to be read,
    // and the request got no answer (the import slot held, the workspace left) until the client gave up.
    const refused = await withFileSizeLimit(64 * 1024, () => importUpload(randomBytes(3_000_000), 15_000));
    expect(refused).toEqual({ status: 503, body: { error: expect.objectContaining({ code: 'library_unavailable', details: { reason: 'EFBIG' } }) } });
    expect(await readdir(path.join(gateway.libraryDir, '.tmp', 'imports'))).toEqual([]);

    // The one import slot was given back: the next import is read (and refused as no zip), not answered 429.
    const next = await importUpload(randomBytes(1_000), 15_000);
    expect(next.status).toBe(400);
    expect(next.body).toMatchObject({ error: { code: 'invalid_bundle' } });
  });
});
