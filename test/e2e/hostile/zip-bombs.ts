import { createHash } from 'node:crypto';
import { deflatedZeros, rawZip, type RawZipEntry } from '../../../services/gateway/test/raw-zip';

const MiB = 1024 * 1024;

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
