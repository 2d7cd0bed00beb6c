import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { libraryWriteTimeoutMs, writeAnsweredWithin } from './library-write-bound';
import { makeFolder } from './make-folder';
import { SyncedWriteThreads } from './synced-write-threads';

/**
 * Where library files live. Everything the services write goes through this interface, so an
 * S3-compatible store can stand in for the local disk later.
 */
export interface LibraryStorage {
  /** Writes atomically (temp file, fsync, rename): a reader never sees half a file. */
  write(relativePath: string, bytes: Buffer): Promise<void>;
  /**
   * Writes several files, each atomically as `write` does, then syncs each folder once so the
   * renames themselves survive a crash of the machine.
   */
  writeAll(files: { path: string; bytes: Buffer }[]): Promise<void>;
  read(relativePath: string): Promise<Buffer>;
  /** sha256 of the stored bytes, or null when there is no such file. */
  sha256(relativePath: string): Promise<string | null>;
  exists(relativePath: string): Promise<boolean>;
  /** Size and modification time (a store's HEAD), or null when there is no such file: tells a changed file from one already verified. */
  version(relativePath: string): Promise<{ bytes: number; modifiedMs: number } | null>;
  remove(relativePath: string): Promise<void>;
  /**
   * Removes the temp files earlier writes of this one path left (`<file>.<hex>.partial`, a process
   * killed between open and rename) and returns them, relative to the root. Only for a caller that
   * owns the path, once its own write has landed: a write of the same path still running elsewhere
   * would lose its temp file.
   */
  removeLeftovers(...relativePaths: string[]): Promise<string[]>;
  /** Absolute location, for streaming a local file to a client. */
  locate(relativePath: string): string;
}

/** The temp file a write goes through, `<file>.<12 hex>.partial`, renamed onto `<file>` once synced. */
export const partialPathFor = (target: string): string => `${target}.${randomBytes(6).toString('hex')}.partial`;
export const PARTIAL_FILE = /\.[0-9a-f]{12}\.partial$/;
// `.<12 hex>.partial`: what partialPathFor adds to its target's name.
const PARTIAL_SUFFIX_LENGTH = 1 + 12 + '.partial'.length;

/**
 * Whether `relativePath` (a row's, a bundle's) lies outside the library, where no storage call
 * may reach: a restore skips such a row rather than fail on it (UnsafeLibraryPathError).
 */
export function isOutsideLibrary(storage: Pick<LibraryStorage, 'locate'>, relativePath: string): boolean {
  try {
    storage.locate(relativePath);
    return false;
  } catch (error) {
    if (error instanceof UnsafeLibraryPathError) return true;
    throw error;
  }
}

export class UnsafeLibraryPathError extends Error {
  constructor(relativePath: string) {
    super(`refusing a library path outside LIBRARY_DIR: ${JSON.stringify(relativePath)}`);
    this.name = 'UnsafeLibraryPathError';
  }
}

/** The read size of a hash (sha256): what it holds of a file at a time. */
const HASH_CHUNK_BYTES = 256 * 1024;

/** Folders a LocalLibraryStorage remembers having made; forgotten (and made again) past this many. */
const FOLDERS_REMEMBERED = 10_000;

let threads: SyncedWriteThreads | undefined;
/** The process's synced-write threads, shared by every LocalLibraryStorage of it. */
const syncedWrites = () => (threads ??= new SyncedWriteThreads());

export interface LocalLibraryStorageOptions {
  /** How long a write step of so many bytes may go unanswered (default libraryWriteTimeoutMs; tests shorten it). */
  writeTimeoutMs?: (bytes: number) => number;
  /** The synced-write threads to write through (default: the process's, shared by every LocalLibraryStorage). */
  threads?: SyncedWriteThreads;
}

/**
 * The library on a local (or mounted) folder. Each step of a write (making its folder, writing and
 * syncing its files, removing a file) is bounded by `writeTimeoutMs`: on a hung mount it fails with
 * LibraryWriteNotAnsweringError (ETIMEDOUT) instead of never settling, so its caller (a filing, an
 * upload) lets go of what it holds and tries again later. The call left behind cannot be canceled:
 * it keeps its thread (one of libuv's four, or a synced-write thread) until the mount answers.
 * Reads are bounded by their callers (answeredWithin, watchLibraryReadStall), who know the size.
 */
export class LocalLibraryStorage implements LibraryStorage {
  private readonly root: string;
  private readonly madeFolders = new Set<string>();
  private readonly writeTimeoutMs: (bytes: number) => number;
  private readonly threads: () => SyncedWriteThreads;

  constructor(root: string, options: LocalLibraryStorageOptions = {}) {
    this.root = path.resolve(root);
    this.writeTimeoutMs = options.writeTimeoutMs ?? libraryWriteTimeoutMs;
    const own = options.threads;
    this.threads = own ? () => own : syncedWrites;
  }

  locate(relativePath: string): string {
    if (!relativePath || path.isAbsolute(relativePath) || relativePath.includes('\0')) throw new UnsafeLibraryPathError(relativePath);
    const absolute = path.resolve(this.root, relativePath);
    if (!absolute.startsWith(this.root + path.sep)) throw new UnsafeLibraryPathError(relativePath);
    return absolute;
  }

  async write(relativePath: string, bytes: Buffer): Promise<void> {
    const target = this.locate(relativePath);
    await this.makeFolder(path.dirname(target));
    await this.threads().run([{ temp: partialPathFor(target), target, bytes }], [], this.writeTimeoutMs(bytes.length));
  }

  async writeAll(files: { path: string; bytes: Buffer }[]): Promise<void> {
    const targets = files.map((file) => ({ target: this.locate(file.path), bytes: file.bytes }));
    const folders = [...new Set(targets.map((t) => path.dirname(t.target)))];
    await Promise.all(folders.map((folder) => this.makeFolder(folder)));
    await this.threads().run(
      targets.map((t) => ({ temp: partialPathFor(t.target), target: t.target, bytes: t.bytes })),
      folders,
      this.writeTimeoutMs(targets.reduce((sum, t) => sum + t.bytes.length, 0)),
    );
  }

  /** mkdir -p, once per folder while it is known to exist (the library's folders are few and stay; a write makes one again that vanished). */
  private async makeFolder(folder: string): Promise<void> {
    if (this.madeFolders.has(folder)) return;
    await this.bounded(makeFolder(folder), 'mkdir', folder);
    if (this.madeFolders.size >= FOLDERS_REMEMBERED) this.madeFolders.clear();
    this.madeFolders.add(folder);
  }

  /** A write step of no size of its own (a mkdir, a listing, a removal), bounded as writes are. */
  private bounded<T>(step: Promise<T>, syscall: string, absolute: string): Promise<T> {
    return writeAnsweredWithin(step, syscall, absolute, this.writeTimeoutMs(0));
  }

  read(relativePath: string): Promise<Buffer> {
    return readFile(this.locate(relativePath));
  }

  /** Read as a stream, a chunk at a time: its memory stays flat whatever the file's size. */
  async sha256(relativePath: string): Promise<string | null> {
    const absolute = this.locate(relativePath);
    try {
      const hash = createHash('sha256');
      // Ended early (an error), the loop destroys the stream, which closes its file.
      for await (const chunk of createReadStream(absolute, { highWaterMark: HASH_CHUNK_BYTES })) hash.update(chunk as Buffer);
      return hash.digest('hex');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async exists(relativePath: string): Promise<boolean> {
    try {
      await stat(this.locate(relativePath));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async version(relativePath: string): Promise<{ bytes: number; modifiedMs: number } | null> {
    try {
      const info = await stat(this.locate(relativePath));
      return info.isFile() ? { bytes: info.size, modifiedMs: info.mtimeMs } : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async remove(relativePath: string): Promise<void> {
    try {
      const absolute = this.locate(relativePath);
      await this.bounded(rm(absolute, { force: true }), 'unlink', absolute);
    } catch (error) {
      // A file (or a dangling link) where a folder of the path goes: nothing can be there to remove.
      if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
    }
  }

  async removeLeftovers(...relativePaths: string[]): Promise<string[]> {
    const removed: string[] = [];
    // Each folder is listed once for all its paths: a library folder can hold thousands of files.
    const byFolder = new Map<string, string[]>();
    for (const relativePath of relativePaths) {
      const target = this.locate(relativePath);
      byFolder.set(path.dirname(target), [...(byFolder.get(path.dirname(target)) ?? []), path.basename(target)]);
    }
    for (const [folder, bases] of byFolder) {
      let names: string[];
      try {
        names = await this.bounded(readdir(folder), 'scandir', folder);
      } catch (error) {
        // No folder there (ENOENT), or a file or a dangling link where it goes (ENOTDIR): nothing left in it.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
        throw error;
      }
      const leftovers = names.filter((name) => PARTIAL_FILE.test(name) && bases.some((base) => name.startsWith(`${base}.`) && name.length === base.length + PARTIAL_SUFFIX_LENGTH));
      for (const name of leftovers) await this.bounded(rm(path.join(folder, name), { force: true }), 'unlink', path.join(folder, name));
      removed.push(...leftovers.map((name) => path.relative(this.root, path.join(folder, name))));
    }
    return removed;
  }
}
