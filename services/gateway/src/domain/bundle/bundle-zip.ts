import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { ApiError } from '../../http/api-error';
import { invalidBundle } from './invalid-bundle';

// A bundle holds two files and its references; this only stops a central directory built to
// make the server loop over millions of empty entries.
const MAX_ENTRIES = 10_000;
const FILE_TYPE_MASK = 0o170000;
const SYMLINK_TYPE = 0o120000;

/** A zip opened from disk, its central directory read: every file entry by name, nothing inflated yet. */
export interface BundleZip {
  entries: Map<string, Entry>;
  /** Inflates one entry into memory; only for entries whose declared size the caller has bounded. */
  readBuffer(entry: Entry): Promise<Buffer>;
  /** Inflates one entry to a file, hashing it on the way; returns its sha256, byte count and first bytes. */
  writeFile(entry: Entry, path: string): Promise<{ sha256: string; bytes: number; head: Buffer }>;
  close(): void;
}

/**
 * Opens a zip on disk and reads only its central directory, refusing (400 `invalid_bundle`, naming
 * the entry) what must never be inflated: more than MAX_ENTRIES entries, symbolic links, encrypted
 * or unsupported entries, a name twice, and declared sizes adding up past `maxUncompressedBytes`.
 * yauzl itself refuses absolute names, `..` segments and backslashes (strictFileNames). Directory
 * entries are skipped: nothing is ever extracted by its name in the archive.
 */
export async function openBundleZip(zipPath: string, limits: { maxUncompressedBytes: number }): Promise<BundleZip> {
  let zipfile: ZipFile;
  try {
    zipfile = await yauzl.openPromise(zipPath, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true, autoClose: false });
  } catch (error) {
    throw invalidBundle(`the upload is not a readable zip archive: ${(error as Error).message}`);
  }
  try {
    if (zipfile.entryCount > MAX_ENTRIES) throw invalidBundle(`the archive holds ${zipfile.entryCount} entries, more than ${MAX_ENTRIES}`);
    const entries = new Map<string, Entry>();
    let declared = 0;
    for await (const entry of zipfile.eachEntry()) {
      const name = entry.fileName;
      refuseUnsafeEntry(entry);
      if (name.endsWith('/') && entry.uncompressedSize === 0) continue;
      if (entries.has(name)) throw invalidBundle(`entry "${name}" appears twice`, name);
      declared += entry.uncompressedSize;
      if (declared > limits.maxUncompressedBytes) {
        throw invalidBundle(`the archive holds more than ${limits.maxUncompressedBytes} bytes once uncompressed (passed at "${name}")`, name);
      }
      entries.set(name, entry);
    }
    return {
      entries,
      readBuffer: async (entry) => {
        const chunks: Buffer[] = [];
        const collect = new Writable({
          write(chunk: Buffer, _enc, done) {
            chunks.push(chunk);
            done();
          },
        });
        await inflate(zipfile, entry, collect);
        return Buffer.concat(chunks);
      },
      writeFile: async (entry, path) => {
        const hash = createHash('sha256');
        let bytes = 0;
        const head: Buffer[] = [];
        const tap = new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            if (bytes < 64) head.push(chunk.subarray(0, 64 - bytes));
            bytes += chunk.length;
            done(null, chunk);
          },
        });
        await inflate(zipfile, entry, tap, createWriteStream(path, { flags: 'wx' }));
        return { sha256: hash.digest('hex'), bytes, head: Buffer.concat(head) };
      },
      close: () => zipfile.close(),
    };
  } catch (error) {
    zipfile.close();
    if (error instanceof ApiError) throw error;
    throw invalidBundle(`the zip archive cannot be read: ${(error as Error).message}`);
  }
}

function refuseUnsafeEntry(entry: Entry): void {
  const name = entry.fileName;
  // The upper 16 bits hold the Unix mode when the archiver recorded one.
  if (((entry.externalFileAttributes >>> 16) & FILE_TYPE_MASK) === SYMLINK_TYPE) throw invalidBundle(`entry "${name}" is a symbolic link`, name);
  if (!entry.canDecodeFileData()) throw invalidBundle(`entry "${name}" is encrypted or compressed with an unsupported method`, name);
}

/**
 * Streams one entry through `stages`, stopping at its declared size: a header that lies about it
 * (a zip bomb) is cut off there, never inflated further. yauzl's validateEntrySizes checks the same
 * and the byte counter here makes the bound explicit.
 */
async function inflate(zipfile: ZipFile, entry: Entry, ...stages: NodeJS.WritableStream[]): Promise<void> {
  const name = entry.fileName;
  let seen = 0;
  const bound = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > entry.uncompressedSize) return done(invalidBundle(`entry "${name}" inflates to more bytes than its header declares (${entry.uncompressedSize})`, name));
      done(null, chunk);
    },
  });
  try {
    const stream = await zipfile.openReadStreamPromise(entry);
    await pipeline(stream, bound, ...(stages as [NodeJS.WritableStream]));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw invalidBundle(`entry "${name}" cannot be read: ${(error as Error).message}`, name);
  }
}
