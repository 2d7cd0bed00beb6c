import { randomBytes } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { withFileSizeLimit } from '@anime/testing';
import { IMPORTS_DIR } from '../src/domain/bundle/bundle-workspace';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway('reviewi-upload-abort', { importConcurrency: 1 });
});
afterAll(() => gateway?.close());

const BOUNDARY = 'reviewIboundary';
const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bundle.zip"\r\nContent-Type: application/zip\r\n\r\n`);

/** Files under the library's import workspaces this process (the gateway runs in it) holds open. */
async function openWorkspaceFiles(): Promise<string[]> {
  const root = path.join(gateway.libraryDir, '.tmp', 'imports');
  const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return links.filter((target) => target.startsWith(root));
}

/** Sends a bundle import announcing `announced` bytes, `sent` of them, then cuts the connection. */
async function abortedImport(announced: number, sent: number): Promise<void> {
  const url = new URL(`${gateway.baseUrl}/api/v1/characters/import`);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: { ...gateway.authHeaders, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(head.length + announced) },
  });
  req.on('error', () => undefined);
  req.write(head);
  for (let left = sent; left > 0; left -= 64 * 1024) req.write(randomBytes(Math.min(left, 64 * 1024)));
  // Let the gateway read (and write) what was sent before the client goes: at least 300 ms, and until
  // it began the import (its workspace made), which a loaded machine can delay past those 300 ms.
  await new Promise((resolve) => setTimeout(resolve, 300));
  // A workspace in .tmp/imports, not the folder itself: that stays once an earlier import made it.
  const began = await eventually(() => readdir(path.join(gateway.libraryDir, IMPORTS_DIR)).then((names) => names.length > 0, () => false), true, 10_000);
  req.destroy();
  if (!began) throw new Error('the gateway never began the import (no workspace under .tmp/imports within 10 s)');
}

/** What the next import is answered (the one slot free: 400 invalid_bundle for bytes that are no zip; held: 429). */
async function nextImportStatus(): Promise<number> {
  const form = new FormData();
  form.set('file', new Blob([randomBytes(1_000)]), 'bundle.zip');
  const answer = await fetch(`${gateway.baseUrl}/api/v1/characters/import`, { method: 'POST', body: form, headers: gateway.authHeaders, signal: AbortSignal.timeout(10_000) });
  await answer.arrayBuffer();
  return answer.status;
}

async function eventually<T>(read: () => Promise<T>, expected: T, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  let value = await read();
  while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

describe('a bundle import whose client goes away mid-upload', () => {
  it('when the upload was being written, then its file is closed, its workspace removed, and the import slot free again', async () => {
    await abortedImport(10_000_000, 2_000_000);
    expect(await eventually(openWorkspaceFiles, [])).toEqual([]);
    expect(await eventually(() => readdir(path.join(gateway.libraryDir, '.tmp', 'imports')), [])).toEqual([]);
    expect(await nextImportStatus()).toBe(400);
  });

  it('when the library had refused the write and the rest was being drained, then the workspace is removed and the import slot free again', async () => {
    await withFileSizeLimit(64 * 1024, () => abortedImport(10_000_000, 2_000_000));
    expect(await eventually(openWorkspaceFiles, [])).toEqual([]);
    expect(await eventually(() => readdir(path.join(gateway.libraryDir, '.tmp', 'imports')), [])).toEqual([]);
    expect(await nextImportStatus()).toBe(400);
  });
});
