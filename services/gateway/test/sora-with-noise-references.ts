import { randomBytes } from 'node:crypto';
import { encodePng } from '@anime/comfyui-simulator';
import type { TestGateway } from './start-test-gateway';

/**
 * A 1024×1024 PNG of noise: some 3 MB, so a zip of five (~15 MB) is more than a paused client's socket
 * buffers hold. Stored uncompressed (level 0): noise does not compress, so the bytes are as many, and
 * deflating five of them took 2-3 s of the file's setup on a loaded machine.
 */
const noisePng = () => encodePng({ width: 1024, height: 1024, rgb: randomBytes(1024 * 1024 * 3), compressLevel: 0 });

/** Makes the character `sora` in `gateway`, with `images` reference images of noise (ref-0 … ref-N, in that order): an export too large to stream at once. */
export async function makeSoraWithNoiseReferences(gateway: TestGateway, images: number): Promise<void> {
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Sora', slug: 'sora', definition: { displayName: 'Sora' } })).status).toBe(201);
  for (let i = 0; i < images; i++) {
    const form = new FormData();
    form.set('file', new Blob([noisePng()]), `ref-${i}.png`);
    form.set('label', `ref-${i}`);
    expect((await api.post('/api/v1/characters/sora/references', form)).status).toBe(201);
  }
}
