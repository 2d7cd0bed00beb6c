import { randomBytes } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import path from 'node:path';
import { encodePng } from '@anime/comfyui-simulator';
import { sha256Hex } from '@anime/media';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

// A reference file that changes in the library while the export streams it: the 200 and part of
// the zip have gone out, so no error can be answered any more. The client must still be able to
// tell: the connection is destroyed (never ended cleanly) before the zip's central directory, so what
// arrived does not parse as a zip; never a whole, valid archive holding other bytes than its manifest says.
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
const IMAGES = 5;

/** A 1024×1024 PNG of noise: some 3 MB, so the whole zip (~15 MB) is more than a paused client's socket buffers hold. */
const noisePng = () => encodePng({ width: 1024, height: 1024, rgb: randomBytes(1024 * 1024 * 3) });

beforeAll(async () => {
  gateway = await startTestGateway('fixc-export-changed');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Sora', slug: 'sora', definition: { displayName: 'Sora' } })).status).toBe(201);
  for (let i = 0; i < IMAGES; i++) {
    const form = new FormData();
    form.set('file', new Blob([noisePng()]), `ref-${i}.png`);
    form.set('label', `ref-${i}`);
    expect((await api.post('/api/v1/characters/sora/references', form)).status).toBe(201);
  }
}, 60_000);
afterAll(() => gateway?.close());

const lastFile = async () => {
  const rows = await gateway.db.characterReference.findMany({ where: { character: { slug: 'sora' } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return path.join(gateway.libraryDir, rows[rows.length - 1].path);
};

/**
 * GET the export with a plain HTTP client that stops reading once the 200 has arrived, lets
 * `meanwhile` change the library, then reads on: how the answer ended, and every byte received.
 */
function exportWhile(meanwhile: () => Promise<void>): Promise<{ status: number; ending: 'end' | 'aborted'; body: Buffer }> {
  const url = new URL('/api/v1/characters/sora/export', gateway.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: gateway.authHeaders, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (ending: 'end' | 'aborted') => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, ending, body: Buffer.concat(chunks) });
      };
      res.pause();
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(res.complete ? 'end' : 'aborted'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', () => finish('aborted'));
      res.on('close', () => finish(res.complete ? 'end' : 'aborted'));
      // The server streams until the socket's buffers are full, then waits for this client.
      setTimeout(() => {
        meanwhile().then(() => res.resume(), reject);
      }, 1_000);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('an export whose reference file changes while it streams', () => {
  it('when the last image is altered in place (same size, other bytes), then the connection is cut, not ended, and what arrived is no zip', async () => {
    const file = await lastFile();
    const original = await readFile(file);
    try {
      const answer = await exportWhile(async () => {
        const altered = Buffer.from(original);
        altered[altered.length - 100] ^= 0xff;
        await writeFile(file, altered);
      });
      expect(answer.status).toBe(200);
      // Before: 'end', and the zip parsed, its last image other bytes than the manifest's sha256.
      expect(answer.ending).toBe('aborted');
      await expect(unzip(answer.body)).rejects.toThrow();
    } finally {
      await writeFile(file, original);
    }
  }, 60_000);

  it('when the last image grows, then the connection is cut too', async () => {
    const file = await lastFile();
    const original = await readFile(file);
    try {
      const answer = await exportWhile(() => appendFile(file, Buffer.alloc(10_000, 7)));
      expect({ status: answer.status, ending: answer.ending }).toEqual({ status: 200, ending: 'aborted' });
      await expect(unzip(answer.body)).rejects.toThrow();
    } finally {
      await writeFile(file, original);
    }
  }, 60_000);

  it('when nothing changes, then the same client receives the whole zip, ended cleanly, every image as its manifest says', async () => {
    const answer = await exportWhile(async () => undefined);
    expect({ status: answer.status, ending: answer.ending }).toEqual({ status: 200, ending: 'end' });
    const files = await unzip(answer.body);
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { files: { path: string; sha256: string }[] };
    expect(manifest.files).toHaveLength(IMAGES + 1);
    for (const entry of manifest.files) expect(sha256Hex(files.get(entry.path)!)).toBe(entry.sha256);
  }, 60_000);
});
