import { crc32, deflateSync } from 'node:zlib';

// PNGs built byte by byte, for tests of what an image decoder must refuse: they cannot be made with
// an encoder, which only writes honest images.

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function ihdr(width: number, height: number, bitDepth: number, colorType: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width >>> 0, 0);
  data.writeUInt32BE(height >>> 0, 4);
  data[8] = bitDepth;
  data[9] = colorType;
  return pngChunk('IHDR', data);
}

/**
 * A PNG whose header declares width × height (8-bit RGB) over `idat` alone: no data makes a
 * header-only PNG (45 bytes), a little deflated data under a huge size a declared-size bomb.
 */
export function declaredPng(width: number, height: number, idat = Buffer.alloc(0)): Buffer {
  const data = idat.length > 0 ? [pngChunk('IDAT', idat)] : [];
  return Buffer.concat([SIGNATURE, ihdr(width, height, 8, 2), ...data, pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A real decompression bomb: a complete, valid 1-bit grey PNG of side × side pixels (default 20000²
 * = 400 megapixels) whose pixel data, all zeros, compresses to about 48 KiB.
 */
export function decompressionBombPng(side = 20_000): Buffer {
  const raw = Buffer.alloc((1 + Math.ceil(side / 8)) * side); // filter byte 0 and zero pixels on every row
  return Buffer.concat([SIGNATURE, ihdr(side, side, 1, 0), pngChunk('IDAT', deflateSync(raw, { level: 9 })), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A small valid grey PNG (side × side) with an HTML document appended after IEND. */
export function pngWithHtmlTail(side = 16): Buffer {
  const raw = Buffer.alloc((1 + side) * side, 0x80);
  for (let row = 0; row < side; row++) raw[row * (1 + side)] = 0;
  const png = Buffer.concat([SIGNATURE, ihdr(side, side, 8, 0), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
  return Buffer.concat([png, Buffer.from('<html><script>alert(document.domain)</script></html>')]);
}
