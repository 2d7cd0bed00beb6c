export interface SniffedImage {
  mime: string;
  extension: string;
  width: number | null;
  height: number | null;
}

/** Every extension sniffImage gives an image (so every one a filed output can have). */
export const IMAGE_EXTENSIONS = ['png', 'gif', 'webp', 'jpg'] as const;

const UNKNOWN: SniffedImage = { mime: 'application/octet-stream', extension: 'bin', width: null, height: null };

/** Type and size from the bytes themselves: a legacy file's name says nothing reliable about either. */
export function sniffImage(bytes: Buffer): SniffedImage {
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { mime: 'image/png', extension: 'png', width: pngDimension(bytes.readUInt32BE(16)), height: pngDimension(bytes.readUInt32BE(20)) };
  }
  if (bytes.length >= 10 && bytes.toString('latin1', 0, 4) === 'GIF8') {
    return { mime: 'image/gif', extension: 'gif', width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  }
  if (bytes.length >= 16 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    return { mime: 'image/webp', extension: 'webp', ...webpSize(bytes) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return { mime: 'image/jpeg', extension: 'jpg', ...jpegSize(bytes) };
  }
  return UNKNOWN;
}

// PNG allows at most 2^31 - 1; a header claiming more is not a size to record (nor fits an int column).
const pngDimension = (n: number): number | null => (n > 0 && n <= 0x7fffffff ? n : null);

function webpSize(bytes: Buffer): { width: number | null; height: number | null } {
  const chunk = bytes.toString('latin1', 12, 16);
  if (chunk === 'VP8X' && bytes.length >= 30) {
    return { width: 1 + bytes.readUIntLE(24, 3), height: 1 + bytes.readUIntLE(27, 3) };
  }
  if (chunk === 'VP8 ' && bytes.length >= 30) {
    return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
  }
  if (chunk === 'VP8L' && bytes.length >= 25) {
    const bits = bytes.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  return { width: null, height: null };
}

// Walks the JPEG segments to the first start-of-frame marker, which holds the dimensions.
function jpegSize(bytes: Buffer): { width: number | null; height: number | null } {
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return { width: null, height: null };
    const marker = bytes[offset + 1];
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
    offset += 2 + bytes.readUInt16BE(offset + 2);
  }
  return { width: null, height: null };
}
