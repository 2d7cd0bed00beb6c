import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where library files live. Everything the services write goes through this interface, so an
 * S3-compatible store can stand in for the local disk later.
 */
export interface LibraryStorage {
  /** Writes atomically (temp file, fsync, rename): a reader never sees half a file. */
  write(relativePath: string, bytes: Buffer): Promise<void>;
  read(relativePath: string): Promise<Buffer>;
  /** sha256 of the stored bytes, or null when there is no such file. */
  sha256(relativePath: string): Promise<string | null>;
  exists(relativePath: string): Promise<boolean>;
  remove(relativePath: string): Promise<void>;
  /**
   * Removes the temp files earlier writes of this one path left (`<file>.<hex>.partial`, a process
   * killed between open and rename) and returns them, relative to the root. Only for a caller that
   * owns the path, once its own write has landed: a write of the same path still running elsewhere
   * would lose its temp file.
   */
  removeLeftovers(relativePath: string): Promise<string[]>;
  /** Absolute location, for streaming a local file to a client. */
  locate(relativePath: string): string;
}

/** The temp file a write goes through, `<file>.<12 hex>.partial`, renamed onto `<file>` once synced. */
export const partialPathFor = (target: string): string => `${target}.${randomBytes(6).toString('hex')}.partial`;
export const PARTIAL_FILE = /\.[0-9a-f]{12}\.partial$/;
// `.<12 hex>.partial`: what partialPathFor adds to its target's name.
const PARTIAL_SUFFIX_LENGTH = 1 + 12 + '.partial'.length;

export class UnsafeLibraryPathError extends Error {
  constructor(relativePath: string) {
    super(`refusing a library path outside LIBRARY_DIR: ${JSON.stringify(relativePath)}`);
    this.name = 'UnsafeLibraryPathError';
  }
}

export class LocalLibraryStorage implements LibraryStorage {
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  locate(relativePath: string): string {
    if (!relativePath || path.isAbsolute(relativePath) || relativePath.includes('\0')) throw new UnsafeLibraryPathError(relativePath);
    const absolute = path.resolve(this.root, relativePath);
    if (!absolute.startsWith(this.root + path.sep)) throw new UnsafeLibraryPathError(relativePath);
    return absolute;
  }

  async write(relativePath: string, bytes: Buffer): Promise<void> {
    const target = this.locate(relativePath);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = partialPathFor(target);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  read(relativePath: string): Promise<Buffer> {
    return readFile(this.locate(relativePath));
  }

  async sha256(relativePath: string): Promise<string | null> {
    try {
      return createHash('sha256').update(await this.read(relativePath)).digest('hex');
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

  async remove(relativePath: string): Promise<void> {
    await rm(this.locate(relativePath), { force: true });
  }

  async removeLeftovers(relativePath: string): Promise<string[]> {
    const target = this.locate(relativePath);
    const base = path.basename(target);
    let names: string[];
    try {
      names = await readdir(path.dirname(target));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const leftovers = names.filter((name) => name.startsWith(`${base}.`) && PARTIAL_FILE.test(name) && name.length === base.length + PARTIAL_SUFFIX_LENGTH);
    for (const name of leftovers) await rm(path.join(path.dirname(target), name), { force: true });
    return leftovers.map((name) => path.relative(this.root, path.join(path.dirname(target), name)));
  }
}
