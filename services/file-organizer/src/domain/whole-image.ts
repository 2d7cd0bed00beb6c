const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
const JPEG_EOI = Buffer.from([0xff, 0xd9]);

/**
 * Why the bytes are not a whole image of the type their header names, or undefined when they are:
 * a PNG runs to its IEND chunk, a JPEG to its end-of-image marker, a GIF to its trailer, a WebP to
 * the length its RIFF header gives. A cut transfer is refused at the HTTP level, but a server whose
 * Content-Length lies short hands over the start of an image with a valid header.
 */
export function cutShort(bytes: Buffer, mime: string): string | undefined {
  switch (mime) {
    case 'image/png':
      return bytes.lastIndexOf(PNG_IEND) > 8 ? undefined : 'its PNG data ends before the IEND chunk';
    case 'image/jpeg':
      return bytes.lastIndexOf(JPEG_EOI) > 2 ? undefined : 'its JPEG data has no end-of-image marker';
    case 'image/gif':
      return bytes.lastIndexOf(0x3b) > 12 ? undefined : 'its GIF data has no trailer';
    case 'image/webp':
      return bytes.length >= 12 && bytes.readUInt32LE(4) + 8 <= bytes.length ? undefined : 'its WebP data is shorter than its RIFF header says';
    default:
      return undefined;
  }
}
