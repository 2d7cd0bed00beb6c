import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { referenceHashTimeoutMs } from '../src/domain/bundle/restore-reference-files';
import { REFERENCE_LOOK_TIMEOUT_MS } from '../src/domain/lost-reference-files';
import { DOWNLOAD_START_TIMEOUT_MS } from '../src/http/send-library-file';
import { filedAsset } from './filed-asset';
import { kaiDefinition } from './fixtures';
import { holdEveryPoolThread } from './hold-pool-threads';
import { png } from './images';
import { checkAgainstApiDocument } from './openapi-conformance';
import type { RawResponse } from './raw-request';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A download on a library that stops answering (a hung NFS or FUSE mount): Express's sendFile stats
// and opens the file on libuv's pool, and a reference marked missing is first read back whole (its
// sha256) to clear the mark. Neither was bounded: the request got no answer for as long as the mount
// hung. Here every pool thread is held (hold-pool-threads.ts), so each of those calls waits as it
// would on such a mount. A download must answer 503 library_unreadable (details.reason ETIMEDOUT,
// Retry-After) within its bound, mark nothing, and serve the file again once the library answers.
let gateway: TestGateway;
let fifoDir: string;
const image = png(16, 16, 23);
const urls = { asset: '', reference: '' };
let assetFile = '';
let referenceId = '';

beforeAll(async () => {
  gateway = await startTestGateway('hungL-download');
  fifoDir = await mkdtemp(path.join(tmpdir(), 'hungL-download-'));
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  // An asset as the file-organizer files it: a row and its file in the library.
  ({ url: urls.asset, file: assetFile } = await filedAsset(gateway, 'kai', Buffer.alloc(32 * 1024 * 1024, 7)));
  const form = new FormData();
  form.set('file', new Blob([image], { type: 'image/png' }), 'front.png');
  const reference = (await api.post('/api/v1/characters/kai/references', form)).body;
  urls.reference = reference.url;
  referenceId = reference.id;
});
afterAll(async () => {
  await gateway?.close();
  await rm(fifoDir, { recursive: true, force: true });
});

/** A GET with the admin key, given up after `ms` ('no answer'); an answer must be one the API document describes. */
function getWithin(url: string, ms: number, headers: Record<string, string> = {}): Promise<RawResponse | 'no answer'> {
  const target = new URL(url, gateway.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers: { ...gateway.authHeaders, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const json = res.headers['content-type']?.includes('json') ? JSON.parse(text) : null;
        const answer = { status: res.statusCode ?? 0, headers: res.headers, text, json };
        checkAgainstApiDocument({ method: 'GET', url, status: answer.status, contentType: String(res.headers['content-type'] ?? ''), body: json, headers: res.headers });
        resolve(answer);
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, ms);
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

/** Lets an open of `fifo` for reading, blocked until a writer comes, return (it reads nothing). */
function answerFifo(fifo: string): void {
  closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
}

/** Runs `work` with every libuv pool thread held (a hung library), timing it; the threads are freed after. */
async function whileHung<T>(work: () => Promise<T>): Promise<{ result: T; elapsed: number }> {
  const release = await holdEveryPoolThread(fifoDir);
  try {
    const started = Date.now();
    const result = await work();
    return { result, elapsed: Date.now() - started };
  } finally {
    await release();
  }
}

const timedOut = (result: RawResponse | 'no answer') =>
  result === 'no answer'
    ? result
    : { status: result.status, retryAfter: result.headers['retry-after'], ranges: result.headers['accept-ranges'] ?? null, fileEtag: /^"[0-9a-f]{64}"$/.test(String(result.headers.etag ?? '')), body: result.json };
const TIMED_OUT = {
  status: 503,
  retryAfter: '60',
  ranges: null,
  // The file's validator (its sha256) is not sent with the error: a cache must not keep the 503 under it.
  fileEtag: false,
  body: { error: { code: 'library_unreadable', message: expect.stringContaining('did not answer'), details: { reason: 'ETIMEDOUT' } } },
};

describe('a download while the library does not answer', () => {
  it('when the stat of an asset file hangs, then 503 library_unreadable (ETIMEDOUT, Retry-After) within the bound, and the file downloads whole once it answers', async () => {
    // Before: no answer at all (the request is given up after the bound and 10 s more).
    const { result, elapsed } = await whileHung(() => getWithin(urls.asset, DOWNLOAD_START_TIMEOUT_MS + 10_000, { range: 'bytes=0-7' }));
    expect(timedOut(result)).toEqual(TIMED_OUT);
    expect(elapsed).toBeGreaterThanOrEqual(DOWNLOAD_START_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(DOWNLOAD_START_TIMEOUT_MS + 3_000);
    // The stat left behind answers once the threads are freed: nothing is sent on the answered request, and the gateway serves on.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const served = await getWithin(urls.asset, 20_000);
    expect(served !== 'no answer' && { status: served.status, bytes: served.text.length }).toEqual({ status: 200, bytes: 32 * 1024 * 1024 });
  }, 40_000);

  it('when the stat of a reference file hangs, then 503 library_unreadable (ETIMEDOUT) within its look and the download bound, and nothing is marked missing', async () => {
    const bound = REFERENCE_LOOK_TIMEOUT_MS + DOWNLOAD_START_TIMEOUT_MS;
    const { result, elapsed } = await whileHung(() => getWithin(urls.reference, bound + 10_000));
    expect(timedOut(result)).toEqual(TIMED_OUT);
    expect(elapsed).toBeGreaterThanOrEqual(bound - 50);
    expect(elapsed).toBeLessThan(bound + 3_000);
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: referenceId } })).missing).toBe(false);
    const served = await getWithin(urls.reference, 10_000);
    expect(served !== 'no answer' && served.status).toBe(200);
  }, 40_000);

  it('when a reference marked missing is read back to clear the mark and the read hangs, then 503 library_unreadable (ETIMEDOUT) within the bound, the mark kept, and cleared once the library answers', async () => {
    await gateway.db.characterReference.update({ where: { id: referenceId }, data: { missing: true } });
    const bound = REFERENCE_LOOK_TIMEOUT_MS + referenceHashTimeoutMs(image.length);
    // Before: no answer at all (the hash of the file never settled).
    const { result, elapsed } = await whileHung(() => getWithin(urls.reference, bound + 10_000));
    expect(timedOut(result)).toEqual(TIMED_OUT);
    expect(elapsed).toBeGreaterThanOrEqual(bound - 50);
    expect(elapsed).toBeLessThan(bound + 3_000);
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: referenceId } })).missing).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const served = await getWithin(urls.reference, 10_000);
    expect(served !== 'no answer' && served.status).toBe(200);
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: referenceId } })).missing).toBe(false);
  }, 40_000);

  it('when the stat answers but the open of the file hangs, then 503 library_unreadable (ETIMEDOUT) within the bound, and nothing more is sent on the connection once the open answers', async () => {
    // A FIFO no writer has opened stands at the path: its stat answers, its open does not.
    await rename(assetFile, `${assetFile}.kept`);
    execFileSync('mkfifo', [assetFile]);
    const target = new URL(urls.asset, gateway.baseUrl);
    const socket = connect(Number(target.port), target.hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    try {
      const started = Date.now();
      socket.write(`GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: ${gateway.authHeaders.authorization}\r\nConnection: keep-alive\r\n\r\n`);
      // Before: no answer at all.
      while (!/\r\n\r\n[\s\S]*"error"[\s\S]*}}$/.test(received) && Date.now() - started < DOWNLOAD_START_TIMEOUT_MS + 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
      const elapsed = Date.now() - started;
      expect(received).toMatch(/^HTTP\/1\.1 503 /);
      expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))).toEqual(TIMED_OUT.body);
      expect(elapsed).toBeGreaterThanOrEqual(DOWNLOAD_START_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(DOWNLOAD_START_TIMEOUT_MS + 3_000);
      // The open answers (a writer comes and goes: the file reads as empty): nothing follows the 503.
      const answered = received;
      answerFifo(assetFile);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect({ after: received.slice(answered.length), open: !socket.destroyed }).toEqual({ after: '', open: true });
    } finally {
      socket.destroy();
      // An open still waiting (a failed check above) would hold its pool thread, and the test run, for good.
      try {
        answerFifo(assetFile);
      } catch {
        // No open waits on it.
      }
      await rm(assetFile, { force: true });
      await rename(`${assetFile}.kept`, assetFile);
    }
    const served = await getWithin(urls.asset, 20_000);
    expect(served !== 'no answer' && served.status).toBe(200);
  }, 40_000);

  it('when a download has begun and the client reads it slowly past the bound, then it is not cut: the file arrives whole', async () => {
    const target = new URL(urls.asset, gateway.baseUrl);
    const received = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers: gateway.authHeaders, agent: false }, (res) => {
        let bytes = 0;
        res.pause();
        // Nothing read for longer than the bound: the gateway's writes wait on a full socket.
        setTimeout(() => {
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
          res.resume();
        }, DOWNLOAD_START_TIMEOUT_MS + 1_000);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received).toEqual({ status: 200, bytes: 32 * 1024 * 1024 });
  }, 30_000);
});
