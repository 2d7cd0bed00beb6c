import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng, readPngText, startSimulator, type Simulator } from '../src';
import { decodePng } from '../src/images/png-decoder';

const W = 4;
const H = 3;
/** An RGB picture whose pixel i is (i, 100 + i, 200 - i). */
const rgb = Buffer.from(Array.from({ length: W * H }, (_, i) => [i, 100 + i, 200 - i]).flat());
/** A mask whose pixel i has alpha 20 * i (its colour is not used). */
const maskRgba = Buffer.from(Array.from({ length: W * H }, (_, i) => [9, 9, 9, 20 * i]).flat());

/**
 * server.upload_mask: image_upload whose save step opens the image `original_ref` names, copies the
 * uploaded mask's alpha onto it (convert('RGBA'), putalpha), keeps its text chunks and saves it as PNG
 * where the upload goes. The save step's own `return web.Response(400/403)` lines are ignored by
 * image_upload, so a reference that leads nowhere still answers 200 and writes nothing; what raises
 * (no original_ref, pictures of different sizes) is a 500.
 */
describe('/upload/mask', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
    mkdirSync(join(sim.outputDir, 'masks'), { recursive: true });
    writeFileSync(join(sim.outputDir, 'masks', 'orig.png'), encodePng({ width: W, height: H, rgb, text: [['prompt', '{"1": {}}'], ['note', 'café ✓']] }));
  });

  afterAll(() => sim.close());

  async function uploadMask(filename: string, mask: Buffer, originalRef?: unknown) {
    const form = new FormData();
    form.append('image', new Blob([mask], { type: 'image/png' }), filename);
    if (originalRef !== undefined) form.append('original_ref', typeof originalRef === 'string' ? originalRef : JSON.stringify(originalRef));
    const response = await fetch(`${sim.url}/api/upload/mask`, { method: 'POST', body: form });
    return { status: response.status, text: await response.text() };
  }

  const mask = encodePng({ width: W, height: H, rgb: maskRgba, alpha: true });
  const ref = { filename: 'orig.png', subfolder: 'masks', type: 'output' };

  it('when the reference names an image, then the upload is that image with the mask as its alpha, its text kept', async () => {
    const { status, text } = await uploadMask('clipspace-mask.png', mask, ref);
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ name: 'clipspace-mask.png', subfolder: '', type: 'input' });
    const saved = readFileSync(join(sim.inputDir, 'clipspace-mask.png'));
    const decoded = decodePng(saved)!;
    expect([decoded.width, decoded.height]).toEqual([W, H]);
    expect([...decoded.rgba]).toEqual(Array.from({ length: W * H }, (_, i) => [i, 100 + i, 200 - i, 20 * i]).flat());
    expect(readPngText(saved)).toEqual({ prompt: '{"1": {}}' });
    expect(decoded.text.map((t) => [t.keyword, t.value])).toEqual([['prompt', '{"1": {}}'], ['note', 'café ✓']]);
  });

  it('when the same mask comes again, then it is not the saved file, so it gets "name (1)"', async () => {
    expect(JSON.parse((await uploadMask('clipspace-mask.png', mask, ref)).text).name).toBe('clipspace-mask (1).png');
  });

  it.each([
    ['a missing file', { filename: 'nope.png', subfolder: 'masks', type: 'output' }],
    ['a name with ..', { filename: '../orig.png', type: 'output' }],
    ['an unknown type', { filename: 'orig.png', subfolder: 'masks', type: 'models' }],
    ['a subfolder escaping the folder', { filename: 'orig.png', subfolder: '../../..', type: 'output' }],
  ])('when the reference is %s, then it answers 200 with the name and writes nothing', async (_what, badRef) => {
    const name = `nothing-${Math.random().toString(36).slice(2)}.png`;
    const { status, text } = await uploadMask(name, mask, badRef);
    expect(status).toBe(200);
    expect(JSON.parse(text).name).toBe(name);
    expect(existsSync(join(sim.inputDir, name))).toBe(false);
  });

  it('when original_ref is missing or not JSON, or the sizes differ, then it is a 500', async () => {
    expect((await uploadMask('m1.png', mask)).status).toBe(500);
    expect((await uploadMask('m2.png', mask, '{not json')).status).toBe(500);
    const small = encodePng({ width: 2, height: 2, rgb: Buffer.alloc(16), alpha: true });
    expect((await uploadMask('m3.png', small, ref)).status).toBe(500);
  });

  it('when the mask claims billions of pixels in a few bytes (or its text inflates past 8 MiB), then it is a 500 at once, nothing is allocated for them, and the server goes on', async () => {
    // The header says 30,000 × 30,000 (3.6 GB as RGBA): IHDR's width and height are bytes 16-23.
    const huge = Buffer.from(mask);
    huge.writeUInt32BE(30_000, 16);
    huge.writeUInt32BE(30_000, 20);
    const before = process.memoryUsage().rss;
    expect((await uploadMask('huge.png', huge, ref)).status).toBe(500);
    // A text chunk of zeros that inflates to 16 MiB (zTXt: keyword, NUL, method 0, zlib data).
    const { deflateSync } = await import('node:zlib');
    const bomb = Buffer.concat([Buffer.from('bomb\0\0', 'latin1'), deflateSync(Buffer.alloc(16 * 1024 * 1024))]);
    const withBomb = encodePng({ width: W, height: H, rgb: maskRgba, alpha: true });
    const chunk = Buffer.alloc(12 + bomb.length);
    chunk.writeUInt32BE(bomb.length, 0);
    chunk.write('zTXt', 4, 'latin1');
    bomb.copy(chunk, 8);
    // After the 8-byte signature and the 25-byte IHDR chunk.
    const bombed = Buffer.concat([withBomb.subarray(0, 33), chunk, withBomb.subarray(33)]);
    expect((await uploadMask('bomb.png', bombed, ref)).status).toBe(500);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    expect((await uploadMask('after.png', mask, ref)).status).toBe(200);
  });

  it('when the mask lacks the image part, then it is a bare 400 like /upload/image', async () => {
    const form = new FormData();
    form.append('original_ref', JSON.stringify(ref));
    const response = await fetch(`${sim.url}/upload/mask`, { method: 'POST', body: form });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('');
  });
});
