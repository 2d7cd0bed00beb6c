import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LocalLibraryStorage } from '@anime/media';
import { ownCpuMs } from './process-memory';

/** What writing filed outputs costs the file system alone, in one process. */
export interface FilingFloor {
  filings: number;
  imageBytes: number;
  sidecarBytes: number;
  /** This process's CPU (process.cpuUsage: user + system, the kernel's file system work included) per filing. */
  cpuMsPerFiling: number;
}

/**
 * The file-organizer's least work per job: an image and its sidecar written as it writes them
 * (LocalLibraryStorage.writeAll: each to a temp file, fsynced, renamed, then their folder synced),
 * `count` times, in `folder` (a scratch folder on the library's file system, which the caller
 * removes; left as written, see withScratchRoot). No HTTP, no database, no hashing: what the
 * library's file system alone charges for two new files per job.
 */
export async function filingFloor(options: { folder: string; count: number; imageBytes: number; sidecarBytes: number }): Promise<FilingFloor> {
  const storage = new LocalLibraryStorage(options.folder);
  const image = Buffer.alloc(options.imageBytes, 1);
  const sidecar = Buffer.alloc(options.sidecarBytes, 0x20);
  const before = ownCpuMs();
  for (let i = 0; i < options.count; i++) {
    const file = `floor/floor-${i}.png`;
    await storage.writeAll([{ path: file, bytes: image }, { path: `${file}.json`, bytes: sidecar }]);
  }
  return { filings: options.count, imageBytes: options.imageBytes, sidecarBytes: options.sidecarBytes, cpuMsPerFiling: (ownCpuMs() - before) / options.count };
}

/**
 * The filing measured once before any stack starts, at about the sizes the bench's 64 × 64 jobs
 * file: the file system as the run found it (files deleted in the minutes before make each new one
 * several times dearer on this machine; see withScratchRoot).
 */
export const FILING_AT_START = { count: 300, imageBytes: 2700, sidecarBytes: 4500 };

/** The sizes of one image the pipeline filed in `libraryDir` and of its sidecar, or null when it filed none. */
export async function filedSizes(libraryDir: string): Promise<{ imageBytes: number; sidecarBytes: number } | null> {
  const files = (await readdir(libraryDir, { recursive: true })) as string[];
  const sidecar = files.find((f) => f.endsWith('.png.json'));
  if (!sidecar) return null;
  const [image, json] = await Promise.all([stat(path.join(libraryDir, sidecar.slice(0, -'.json'.length))), stat(path.join(libraryDir, sidecar))]);
  return { imageBytes: image.size, sidecarBytes: json.size };
}
