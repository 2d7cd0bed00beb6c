import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { ApiError } from '../../http/api-error';
import { invalidBundle } from './invalid-bundle';

export interface ZipLimits {
  /** The most bytes all files together may hold once uncompressed. */
  maxUncompressedBytes: number;
}

// A bundle holds two files and its references; this only stops a central directory built to
// make the server loop over millions of empty entries.
const MAX_ENTRIES = 10_000;
const FILE_TYPE_MASK = 0o170000;
const SYMLINK_TYPE = 0o120000;

/**
 * Every file of a zip, uncompressed into memory, or a 400 `invalid_bundle` naming the first bad
 * entry. yauzl itself refuses absolute names, `..` segments and backslashes (strictFileNames) and
 * an entry whose bytes differ in number from its declared size. The total is checked against the
 * declared sizes first and counted again while inflating, since a zip bomb lies about its sizes.
 * Directory entries are skipped: nothing is ever extracted by its name in the archive.
 */
export async function readZipEntries(zip: Buffer, limits: ZipLimits): Promise<Map<string, Buffer>> {
  let zipfile: ZipFile;
  try {
    zipfile = await yauzl.fromBufferPromise(zip, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true, autoClose: true });
  } catch (error) {
    throw invalidBundle(`the upload is not a readable zip archive: ${(error as Error).message}`);
  }
  const files = new Map<string, Buffer>();
  try {
    if (zipfile.entryCount > MAX_ENTRIES) throw invalidBundle(`the archive holds ${zipfile.entryCount} entries, more than ${MAX_ENTRIES}`);
    const budget = { declared: 0, inflated: 0 };
    const tooLarge = (name: string) =>
      invalidBundle(`the archive holds more than ${limits.maxUncompressedBytes} bytes once uncompressed (passed at "${name}")`, name);
    for await (const entry of zipfile.eachEntry()) {
      const name = entry.fileName;
      refuseUnsafeEntry(entry);
      if (name.endsWith('/') && entry.uncompressedSize === 0) continue;
      if (files.has(name)) throw invalidBundle(`entry "${name}" appears twice`, name);
      budget.declared += entry.uncompressedSize;
      if (budget.declared > limits.maxUncompressedBytes) throw tooLarge(name);
      files.set(name, await inflate(zipfile, entry, budget, limits.maxUncompressedBytes, tooLarge));
    }
    return files;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw invalidBundle(`the zip archive cannot be read: ${(error as Error).message}`);
  } finally {
    zipfile.close();
  }
}

function refuseUnsafeEntry(entry: Entry): void {
  const name = entry.fileName;
  // The upper 16 bits hold the Unix mode when the archiver recorded one.
  if (((entry.externalFileAttributes >>> 16) & FILE_TYPE_MASK) === SYMLINK_TYPE) throw invalidBundle(`entry "${name}" is a symbolic link`, name);
  if (!entry.canDecodeFileData()) throw invalidBundle(`entry "${name}" is encrypted or compressed with an unsupported method`, name);
}

async function inflate(zipfile: ZipFile, entry: Entry, budget: { inflated: number }, max: number, tooLarge: (name: string) => ApiError): Promise<Buffer> {
  const stream = await zipfile.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) {
      budget.inflated += (chunk as Buffer).length;
      if (budget.inflated > max) throw tooLarge(entry.fileName);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw invalidBundle(`entry "${entry.fileName}" cannot be read: ${(error as Error).message}`, entry.fileName);
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}
