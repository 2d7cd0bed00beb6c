import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A digest of a PNG's IDAT chunks only: equal pixels give equal digests whatever text metadata the file carries. */
export function pixelDigest(path: string): string {
  const bytes = readFileSync(path);
  const hash = createHash('sha256');
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    if (bytes.toString('latin1', offset + 4, offset + 8) === 'IDAT') hash.update(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  return hash.digest('hex');
}
