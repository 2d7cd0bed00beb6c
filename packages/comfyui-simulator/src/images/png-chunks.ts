/** One chunk of a PNG: its four-letter type and its data (no length field, no CRC). */
export interface PngChunk {
  type: string;
  data: Buffer;
}

/**
 * The chunks of a PNG in file order, from just after the eight-byte signature (not checked here) up to
 * IEND, which is not given. Each is cut by its length field: one running past the end of the bytes
 * comes with the data there is, and the walk ends once fewer than eight bytes (a length and a type)
 * are left. CRCs are not checked.
 */
export function* pngChunks(bytes: Buffer): Generator<PngChunk> {
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (type === 'IEND') return;
    yield { type, data: bytes.subarray(offset + 8, offset + 8 + length) };
    offset += 12 + length;
  }
}
