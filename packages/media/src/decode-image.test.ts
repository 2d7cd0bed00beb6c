import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, ImageDecodeError } from './decode-image';

const MAX = 40_000_000;

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG whose IHDR declares width × height, with `idat` as its only data. */
function declaredPng(width: number, height: number, idat = Buffer.alloc(0)): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width >>> 0, 0);
  ihdr.writeUInt32BE(height >>> 0, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const idatChunk = idat.length ? [chunk('IDAT', idat)] : [];
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...idatChunk, chunk('IEND', Buffer.alloc(0))]);
}

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
