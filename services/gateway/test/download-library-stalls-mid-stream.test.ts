import { readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@anime/logger';
import { DOWNLOAD_STALL_TIMEOUT_MS } from '../src/http/send-library-file';
import { downloadWhileLibraryStalls } from './download-while-library-stalls';
import { filedAsset } from './filed-asset';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A download whose library stops answering after the headers and the first megabytes went out (a
// hung NFS mount that answered the stat, the open and the first reads). Nothing cut it: the client
// waited for the rest for good, the request holding its socket and its file. The 200 and the
// Content-Length are gone, so no error can be answered: the connection must be destroyed within the
// bound (the client sees a transfer shorter than announced, never a complete file), logged once,
// and the gateway must serve on meanwhile. A client that merely reads slowly is not cut
// (download-hung-library.test.ts).
type LogLine = { level: string; message: string; [key: string]: unknown };
let gateway: TestGateway;
let fifoDir: string;
const lines: LogLine[] = [];
const BYTES = 32 * 1024 * 1024;
let assetUrl = '';
let assetFile = '';

beforeAll(async () => {
  const log = createLogger('gateway', 'debug');
  for (const transport of log.transports) transport.silent = true;
  log.on('data', (line: LogLine) => lines.push(line));
  gateway = await startTestGateway('stall-download', { log });
  fifoDir = await mkdtemp(path.join(tmpdir(), 'stall-download-'));
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  ({ url: assetUrl, file: assetFile } = await filedAsset(gateway, 'kai', Buffer.alloc(BYTES, 5)));
});
afterAll(async () => {
  await gateway?.close();
  await rm(fifoDir, { recursive: true, force: true });
});

/** The gateway's descriptors open on the asset's file (the tests run in its process). */
const openOnFile = () =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === assetFile;
    } catch {
      return false;
    }
  });

/** A GET of the character, on a connection of its own: its status, or 'no answer' within `ms`. */
function characterWithin(ms: number): Promise<number | 'no answer'> {
  const target = new URL('/api/v1/characters/kai', gateway.baseUrl);
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers: gateway.authHeaders, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, ms);
    req.on('close', () => clearTimeout(timer));
    req.on('error', () => resolve('no answer'));
    req.end();
  });
}

const cutLines = () => lines.filter((line) => line.level !== 'debug' && line.level !== 'info').map((line) => ({ level: line.level, message: line.message, code: line.code }));

describe('a download whose library read stalls after its headers went out', () => {
  beforeEach(() => void lines.splice(0));

  it('when the library stops answering mid-file, then the connection is cut within the bound (fewer bytes than its Content-Length), logged once, the file closed, and the gateway serves on', async () => {
    const stalled = await downloadWhileLibraryStalls(gateway, assetUrl, fifoDir, DOWNLOAD_STALL_TIMEOUT_MS + 10_000);
    try {
      expect(stalled.status).toBe(200);
      expect(stalled.headers['content-length']).toBe(String(BYTES));
      // Before: 'no end' (the client waited on, given up after the bound and 10 s more).
      expect(stalled.ending).toBe('aborted');
      expect(stalled.body.length).toBeGreaterThan(0);
      expect(stalled.body.length).toBeLessThan(BYTES);
      expect(stalled.endedSinceHoldMs).toBeGreaterThanOrEqual(DOWNLOAD_STALL_TIMEOUT_MS - 50);
      expect(stalled.endedAfterMs).toBeLessThan(DOWNLOAD_STALL_TIMEOUT_MS + 3_000);
      // Once, at warn, naming the timeout; no error-level line (nothing unexpected happened).
      expect(cutLines()).toEqual([{ level: 'warn', message: 'library not answering: download cut mid-stream', code: 'ETIMEDOUT' }]);
      // The library still hangs: the gateway answers what does not need it.
      expect(await characterWithin(2_000)).toBe(200);
    } finally {
      await stalled.release();
    }
    // The read left behind answers: the file it held is closed, and the file downloads whole.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(openOnFile()).toEqual([]);
    const whole = await fetch(`${gateway.baseUrl}${assetUrl}`, { headers: gateway.authHeaders });
    expect({ status: whole.status, bytes: (await whole.arrayBuffer()).byteLength }).toEqual({ status: 200, bytes: BYTES });
    expect(cutLines()).toHaveLength(1);
  }, 40_000);

  it('when a range of the file is asked for and the library stops answering in it, then that answer is cut the same way', async () => {
    const from = 1024 * 1024;
    const stalled = await downloadWhileLibraryStalls(gateway, assetUrl, fifoDir, DOWNLOAD_STALL_TIMEOUT_MS + 10_000, { range: `bytes=${from}-` });
    try {
      expect({ status: stalled.status, range: stalled.headers['content-range'], length: stalled.headers['content-length'] }).toEqual({
        status: 206,
        range: `bytes ${from}-${BYTES - 1}/${BYTES}`,
        length: String(BYTES - from),
      });
      // Before: 'no end'.
      expect(stalled.ending).toBe('aborted');
      expect(stalled.body.length).toBeLessThan(BYTES - from);
      expect(stalled.endedAfterMs).toBeLessThan(DOWNLOAD_STALL_TIMEOUT_MS + 3_000);
      expect(cutLines()).toEqual([{ level: 'warn', message: 'library not answering: download cut mid-stream', code: 'ETIMEDOUT' }]);
    } finally {
      await stalled.release();
    }
    const range = await fetch(`${gateway.baseUrl}${assetUrl}`, { headers: { ...gateway.authHeaders, range: `bytes=${from}-` } });
    expect({ status: range.status, bytes: (await range.arrayBuffer()).byteLength }).toEqual({ status: 206, bytes: BYTES - from });
  }, 40_000);
});
