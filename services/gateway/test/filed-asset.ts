import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import type { TestGateway } from './start-test-gateway';

/**
 * An asset as the file-organizer files it, of a generation of character `slug` (which must exist):
 * `bytes` written to the library at `default/<generation id>.png`, and its row. Its download URL and
 * its file's absolute path.
 */
export async function filedAsset(gateway: TestGateway, slug: string, bytes: Buffer): Promise<{ url: string; file: string }> {
  const created = await gateway.client().post('/api/v1/generations', { character: slug, prompt: 'an asset of the tests' });
  const job = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: created.body.id } });
  await mkdir(path.join(gateway.libraryDir, 'default'), { recursive: true });
  const file = path.join(gateway.libraryDir, 'default', `${job.id}.png`);
  await writeFile(file, bytes);
  const asset = await gateway.db.asset.create({
    data: {
      jobId: job.id, characterVersionId: job.characterVersionId!, sourceKey: 'out-1', path: `default/${job.id}.png`, sha256: sha256Hex(bytes),
      bytes: bytes.length, width: 16, height: 16, mime: 'image/png', project: 'default', episode: 'ep00', scene: 'sc000', metadata: {},
    },
  });
  return { url: `/api/v1/assets/${asset.id}/file`, file };
}
