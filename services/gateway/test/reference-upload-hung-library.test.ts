import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { storeReferenceFile } from '@anime/characters';
import { LibraryNotAnsweringError, libraryReadTimeoutMs, LocalLibraryStorage, sha256Hex } from '@anime/media';
import { holdEveryPoolThread } from './hold-pool-threads';
import { png } from './images';
import { checkAgainstApiDocument } from './openapi-conformance';
import { multipart, rawRequest, type RawResponse } from './raw-request';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// Uploading a reference image first reads what the library holds at its path (its sha256: the same
// bytes are not written again). On a library that stops answering (a hung NFS or FUSE mount) that
// read never returned: the upload got no answer for as long as the mount hung. It must answer 503
// library_unavailable (details.reason ETIMEDOUT, Retry-After), store nothing, and succeed once the
// library answers again.
let gateway: TestGateway;
let fifoDir: string;
const image = png(20, 30, 81);
let filePath = '';

beforeAll(async () => {
  gateway = await startTestGateway('hungL-upload');
  fifoDir = await mkdtemp(path.join(tmpdir(), 'hungL-upload-'));
  expect((await gateway.client().post('/api/v1/characters', { name: 'Yui', slug: 'yui', definition: { displayName: 'Yui' } })).status).toBe(201);
  const first = await upload(image);
  expect(first !== 'no answer' && first.status).toBe(201);
  filePath = path.join(gateway.libraryDir, (await gateway.db.characterReference.findFirstOrThrow()).path);
});
afterAll(async () => {
  await gateway?.close();
  await rm(fifoDir, { recursive: true, force: true });
});

/** POSTs the image as a reference of yui, given up after `ms` ('no answer'); an answer must be one the API document describes. */
async function upload(bytes: Buffer, ms = 30_000): Promise<RawResponse | 'no answer'> {
  const form = new FormData();
  form.set('file', new Blob([bytes]), 'front.png');
  form.set('label', 'front');
  const { body, contentType } = await multipart(form);
  const url = '/api/v1/characters/yui/references';
  const answer = await Promise.race([
    rawRequest(gateway.baseUrl, 'POST', url, { ...gateway.authHeaders, 'content-type': contentType }, body),
    new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), ms).unref()),
  ]);
  if (answer !== 'no answer') checkAgainstApiDocument({ method: 'POST', url, status: answer.status, contentType: String(answer.headers['content-type'] ?? ''), body: answer.json, headers: answer.headers });
  return answer;
}

/** Lets an open of `fifo` for reading, blocked until a writer comes, return (it reads nothing). */
function answerFifo(fifo: string): void {
  closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
}

describe('a reference upload while the library does not answer', () => {
  it('when the read of the file already at its path hangs, then 503 library_unavailable (ETIMEDOUT, Retry-After) within the bound, and the same upload writes it back once the library answers', async () => {
    // An open that never returns, as a hung mount's: a FIFO no writer has opened stands at the path.
    await rm(filePath);
    execFileSync('mkfifo', [filePath]);
    const bound = libraryReadTimeoutMs(image.length);
    const started = Date.now();
    // Before: no answer at all (given up after the bound and 10 s more).
    const answer = await upload(image, bound + 10_000);
    const elapsed = Date.now() - started;
    answerFifo(filePath);
    expect(answer === 'no answer' ? answer : { status: answer.status, retryAfter: answer.headers['retry-after'], body: answer.json }).toEqual({
      status: 503,
      retryAfter: '60',
      body: { error: { code: 'library_unavailable', message: expect.stringContaining('did not answer'), details: { reason: 'ETIMEDOUT' } } },
    });
    expect(elapsed).toBeGreaterThanOrEqual(bound - 50);
    expect(elapsed).toBeLessThan(bound + 3_000);
    // Nothing was written over what stands there.
    expect((await stat(filePath)).isFIFO()).toBe(true);

    await rm(filePath);
    const again = await upload(image);
    expect(again !== 'no answer' && { status: again.status, missing: again.json.missing }).toEqual({ status: 200, missing: false });
    expect(sha256Hex(await readFile(filePath))).toBe(sha256Hex(image));
  }, 40_000);

  it('when every read of the library hangs, then storing a new image fails with LibraryNotAnsweringError within the bound and writes nothing', async () => {
    const storage = new LocalLibraryStorage(gateway.libraryDir);
    const bytes = png(20, 30, 82);
    const bound = libraryReadTimeoutMs(bytes.length);
    const release = await holdEveryPoolThread(fifoDir);
    let outcome: unknown;
    let elapsed: number;
    try {
      const started = Date.now();
      outcome = await Promise.race([
        storeReferenceFile(storage, { bytes, characterSlug: 'yui', label: 'side' }).then((stored) => ({ stored }), (error: unknown) => error),
        new Promise((resolve) => setTimeout(() => resolve('still pending'), bound + 10_000).unref()),
      ]);
      elapsed = Date.now() - started;
    } finally {
      await release();
    }
    // Before: 'still pending' (the read of the path never answered).
    expect(outcome).toBeInstanceOf(LibraryNotAnsweringError);
    expect(outcome).toMatchObject({ reason: 'ETIMEDOUT', relativePath: expect.stringMatching(/^references\/yui\//) });
    expect(elapsed!).toBeGreaterThanOrEqual(bound - 50);
    expect(elapsed!).toBeLessThan(bound + 3_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await storage.exists((outcome as LibraryNotAnsweringError).relativePath)).toBe(false);
  }, 40_000);
});
