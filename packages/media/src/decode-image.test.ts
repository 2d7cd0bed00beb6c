import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { declaredPng } from '@anime/testing';
import { decodeImage, ImageDecodeError } from './decode-image';

const MAX = 40_000_000;


const refusedWith = async (input: Buffer, reason: ImageDecodeError['reason']) => {
  const error = await decodeImage(input, MAX).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ImageDecodeError);
  expect((error as ImageDecodeError).reason).toBe(reason);
};

describe('decodeImage', () => {
  it('when the image is whole, then type and size come from the decoder', async () => {
    const webp = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#0f0' } }).webp().toBuffer();
    await expect(decodeImage(webp, MAX)).resolves.toEqual({ mime: 'image/webp', extension: 'webp', width: 30, height: 20 });
  });

  it('when a PNG is only a header (no pixel data), then it is invalid', async () => {
    await refusedWith(declaredPng(10, 10), 'invalid');
  });

  it('when a PNG is truncated, then it is invalid', async () => {
    const whole = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f00' } }).png().toBuffer();
    await refusedWith(whole.subarray(0, whole.length - 30), 'invalid');
  });

  it('when a JPEG is cut in half, then it is invalid', async () => {
    const whole = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#36c' } }).jpeg().toBuffer();
    await refusedWith(whole.subarray(0, Math.floor(whole.length / 2)), 'invalid');
  });

  it('when a PNG declares 60000×60000 over a few bytes of data, then it is too many pixels, found from the header', async () => {
    const started = Date.now();
    await refusedWith(declaredPng(60_000, 60_000, deflateSync(Buffer.alloc(1000))), 'too_many_pixels');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('when a PNG header declares a width beyond 2^31, then it is invalid, never a number for the database', async () => {
    await refusedWith(declaredPng(0xfffffff0, 10), 'invalid');
  });
});

describe('decodeImage memory', () => {
  const MiB = 1024 * 1024;
  const rss = () => process.memoryUsage.rss();

  /** How far the process's RSS rose above where it stood while `work` ran, sampled every 5 ms. */
  async function peakRise(work: () => Promise<unknown>): Promise<number> {
    const start = rss();
    let peak = start;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
    }, 5);
    try {
      await work();
    } finally {
      clearInterval(sampler);
    }
    return Math.max(peak, rss()) - start;
  }

  it('when a 36 MP 16-bit PNG (a format that streams) is decoded, then only a few rows are held, not its 290 MB of pixels', async () => {
    const png = await sharp({ create: { width: 6000, height: 6000, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } })
      .toColourspace('rgb16')
      .png({ compressionLevel: 1 })
      .toBuffer();
    const rise = await peakRise(() => decodeImage(png, MAX));
    expect(rise).toBeLessThan(150 * MiB);
  }, 60_000);

  it('when four 1.5 KB WebPs of 40 MP each (held whole while decoded, ~300 MB) arrive at once, then they are decoded one at a time', async () => {
    // Four different images, read from test/fixtures: made by
    //   sharp({ create: { width: 16_383, height: 2_440, channels: 4, background: { r: i, g: 20, b: 30, alpha: 0.5 } } }).webp({ lossless: true })
    // for i = 0 … 3 (encoding them here took 5 s of CPU a run).
    const webps = await Promise.all([0, 1, 2, 3].map((i) => readFile(path.join(__dirname, '..', 'test', 'fixtures', `40-mp-${i}.webp`))));
    expect(new Set(webps.map((w) => w.toString('base64'))).size).toBe(4);
    expect(Math.max(...webps.map((w) => w.length))).toBeLessThan(4_096);
    let decoded: unknown[] = [];
    const rise = await peakRise(async () => (decoded = await Promise.all(webps.map((w) => decodeImage(w, MAX)))));
    expect(rise).toBeLessThan(600 * MiB);
    // Each one whole: 16,383 × 2,440, 40 MP.
    expect(decoded).toEqual(webps.map(() => ({ mime: 'image/webp', extension: 'webp', width: 16_383, height: 2_440 })));
  }, 120_000);
});
