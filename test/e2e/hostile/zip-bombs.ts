import { createHash } from 'node:crypto';
import { constants, crc32, createDeflateRaw } from 'node:zlib';
import { rawZip, type RawZipEntry } from '../../../services/gateway/test/raw-zip';

const MiB = 1024 * 1024;

/** `size` zero bytes deflated, built a MiB at a time so the test never holds them inflated. */
async function deflatedZeros(size: number): Promise<NonNullable<RawZipEntry['deflated']>> {
  const deflate = createDeflateRaw({ level: constants.Z_BEST_COMPRESSION });
  const parts: Buffer[] = [];
  deflate.on('data', (part: Buffer) => parts.push(part));
  const done = new Promise((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  const block = Buffer.alloc(MiB);
  let crc = 0;
  for (let written = 0; written < size; written += MiB) {
    const piece = block.subarray(0, Math.min(MiB, size - written));
    crc = crc32(piece, crc);
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return { body: Buffer.concat(parts), crc, size };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function manifestEntry(files: { path: string; sha256: string; bytes: number }[]): RawZipEntry {
  return { name: 'manifest.json', data: Buffer.from(JSON.stringify({ format: 'anime-character-bundle', formatVersion: 1, files })) };
}

/** The hostile bundles of the security probe, each about half a MiB on the wire and ~480 MiB inflated. */
export async function hostileBundles(characterJson: Buffer) {
  const bomb = await deflatedZeros(480 * MiB);
  const character = { name: 'character.json', data: characterJson };
  const characterFile = { path: 'character.json', sha256: sha256(characterJson), bytes: characterJson.length };
  const bombName = `references/${'0'.repeat(64)}.png`;
  return {
    /** An entry the manifest does not list, inflating to 480 MiB. */
    unlistedEntry: rawZip([manifestEntry([characterFile]), character, { name: 'padding.bin', data: Buffer.alloc(0), deflated: bomb }]),
    /** A listed entry honest about its 480 MiB. */
    oversizedEntry: rawZip([manifestEntry([characterFile, { path: bombName, sha256: '0'.repeat(64), bytes: bomb.size }]), character, { name: bombName, data: Buffer.alloc(0), deflated: bomb }]),
    /** A listed entry whose headers and manifest claim 1 KiB while its data inflates to 480 MiB. */
    lyingEntry: rawZip([
      manifestEntry([characterFile, { path: bombName, sha256: '0'.repeat(64), bytes: 1024 }]),
      character,
      { name: bombName, data: Buffer.alloc(0), deflated: bomb, declaredSize: 1024 },
    ]),
  };
}
