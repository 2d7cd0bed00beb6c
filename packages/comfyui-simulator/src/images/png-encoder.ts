import { deflateSync } from 'node:zlib';
import { pngChunks } from './png-chunks';
import { PNG_SIGNATURE } from './png-decoder';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (let i = 0; i < buffer.length; i++) crc = CRC_TABLE[(crc ^ buffer[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

export interface PngInput {
  width: number;
  height: number;
  /** width * height * 3 bytes, row-major RGB (or width * height * 4, RGBA, when `alpha` is set). */
  rgb: Buffer;
  /** `rgb` holds RGBA pixels: the PNG is written with an alpha channel (colour type 6). */
  alpha?: boolean;
  /**
   * Text chunks in order, as PIL's PngInfo.add_text writes them (before the image data): tEXt when the
   * text is Latin-1, else (or when the entry carries iTXt's language and translated keyword) iTXt.
   */
  text?: Array<[keyword: string, value: string, itxt?: { lang: string; tkey: string }]>;
  compressLevel?: number;
}

const LATIN1 = /^[\u0000-\u00ff]*$/;

function textChunk([keyword, value, itxt]: [string, string, { lang: string; tkey: string }?]): Buffer {
  const key = Buffer.from(keyword, 'latin1');
  if (!itxt && LATIN1.test(value)) return chunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(value, 'latin1')]));
  // Uncompressed iTXt: keyword, NUL, compression flag 0, method 0, language, NUL, translated keyword, NUL, UTF-8 text.
  const { lang = '', tkey = '' } = itxt ?? {};
  return chunk('iTXt', Buffer.concat([key, Buffer.from([0, 0, 0]), Buffer.from(lang, 'utf8'), Buffer.from([0]), Buffer.from(tkey, 'utf8'), Buffer.from([0]), Buffer.from(value, 'utf8')]));
}

export function encodePng({ width, height, rgb, alpha = false, text = [], compressLevel = 4 }: PngInput): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = alpha ? 6 : 2; // colour type RGBA or RGB
  const stride = width * (alpha ? 4 : 3);
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    ...text.map(textChunk),
    chunk('IDAT', deflateSync(raw, { level: compressLevel })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's IHDR, or undefined for anything that isn't a PNG. */
export function readPngSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length < 24 || bytes.readUInt32BE(0) !== 0x89504e47 || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** The tEXt chunks of a PNG, keyword → text. */
export function readPngText(bytes: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { type, data } of pngChunks(bytes)) {
    if (type !== 'tEXt') continue;
    const nul = data.indexOf(0);
    out[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
  }
  return out;
}
