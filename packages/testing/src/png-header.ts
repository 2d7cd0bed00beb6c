/**
 * The first 40 bytes of a PNG declaring width × height, the rest `fill`: the signature and the IHDR
 * size fields are all an image sniffer reads, and the bytes need not decode. `fill` tells images of
 * one size apart (another sha256).
 */
export function pngHeader(width: number, height: number, fill = 0): Buffer {
  const bytes = Buffer.alloc(40, fill);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return bytes;
}
