import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { downloadPausedWhile } from './paused-download';
import { makeSoraWithNoiseReferences } from './sora-with-noise-references';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

// A reference file that changes in the library while the export streams it: the 200 and part of
// the zip have gone out, so no error can be answered any more. The client must still be able to
// tell: the connection is destroyed (never ended cleanly) before the zip's central directory, so what
// arrived does not parse as a zip; never a whole, valid archive holding other bytes than its manifest says.
let gateway: TestGateway;
const IMAGES = 5;

beforeAll(async () => {
  gateway = await startTestGateway('fixc-export-changed');
  await makeSoraWithNoiseReferences(gateway, IMAGES);
}, 60_000);
afterAll(() => gateway?.close());

const lastFile = async () => {
  const rows = await gateway.db.characterReference.findMany({ where: { character: { slug: 'sora' } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return path.join(gateway.libraryDir, rows[rows.length - 1].path);
};

/**
 * GET the export with a plain HTTP client that stops reading once the 200 has arrived, lets
 * `meanwhile` change the library (after 1 s: the server has streamed until the socket's buffers are
 * full, and waits for this client), then reads on: how the answer ended, and every byte received.
 */
const exportWhile = (meanwhile: () => Promise<void>) => downloadPausedWhile(gateway, '/api/v1/characters/sora/export', { pauseMs: 1_000 }, meanwhile);

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
