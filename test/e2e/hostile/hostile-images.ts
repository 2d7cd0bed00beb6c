import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number, bitDepth: number, colorType: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width >>> 0, 0);
  data.writeUInt32BE(height >>> 0, 4);
  data[8] = bitDepth;
  data[9] = colorType;
  return chunk('IHDR', data);
}

/** A PNG with a signature, a header and an end, and no pixels at all (45 bytes): it cannot be decoded. */
export function headerOnlyPng(width = 64, height = 64): Buffer {
  return Buffer.concat([SIGNATURE, ihdr(width, height, 8, 2), chunk('IEND', Buffer.alloc(0))]);
}

/** A PNG whose header declares a huge image (60000 × 60000 by default), followed by a few bytes of pixels. */
export function hugeDeclaredPng(width = 60_000, height = 60_000): Buffer {
  return Buffer.concat([SIGNATURE, ihdr(width, height, 8, 2), chunk('IDAT', deflateSync(Buffer.alloc(1024))), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * A real decompression bomb: a complete, valid 1-bit grey PNG of side × side pixels (default 20000²
 * = 400 megapixels) whose pixel data, all zeros, compresses to a few tens of KiB.
 */
export function decompressionBombPng(side = 20_000): Buffer {
  const rowBytes = 1 + Math.ceil(side / 8);
  const raw = Buffer.alloc(rowBytes * side); // filter byte 0 and zero pixels on every row
  return Buffer.concat([SIGNATURE, ihdr(side, side, 1, 0), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** A small valid PNG (grey, side × side) with an HTML document appended after IEND. */
export function pngWithHtmlTail(side = 16): Buffer {
  const raw = Buffer.alloc((1 + side) * side, 0x80);
  for (let row = 0; row < side; row++) raw[row * (1 + side)] = 0;
  const png = Buffer.concat([SIGNATURE, ihdr(side, side, 8, 0), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  return Buffer.concat([png, Buffer.from('<html><script>alert(document.domain)</script></html>')]);
}
