import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` that fails with the error of the folder that could not be made. Node's recursive
 * mkdir (20.x here) stats a folder after any error but a few and reports that stat's ENOENT
 * instead: a read-only volume (EROFS) or one over its quota (EDQUOT) came out as ENOENT, which no
 * caller can tell from a bug (a bundle import or a reference upload answered 500, a filing spent
 * its tries). Below /proc (a misconfigured LIBRARY_DIR, or a link in the library to there) a mkdir
 * answers ENOENT under a folder that exists, which Node took as "make the parent first", forever:
 * the call never settled and kept a libuv thread spinning. Here each missing folder is made once,
 * from the top, and the first refusal is thrown as it is.
 */
export async function makeFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder);
    return;
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return assertFolder(folder, error);
    if (codeOf(error) === 'ELOOP') throw notAFolder(folder, 'a loop of links stands on its path', error);
    if (codeOf(error) !== 'ENOENT' || path.dirname(folder) === folder) throw error;
  }
  await makeFolder(path.dirname(folder));
  try {
    await mkdir(folder);
  } catch (error) {
    // Another process may have made it meanwhile; an ENOENT now (its parent exists) is thrown as it is.
    if (codeOf(error) === 'EEXIST') return assertFolder(folder, error);
    if (codeOf(error) === 'ELOOP') throw notAFolder(folder, 'a loop of links stands on its path', error);
    throw error;
  }
}

/**
 * What stands at `folder` is a folder (through a link), or an ENOTDIR naming it: a file, a link to
 * nothing, or a loop of links (ELOOP, which is no refusal by its own code: the operator removes the
 * link as they would a dangling one).
 */
async function assertFolder(folder: string, exists: unknown): Promise<void> {
  let what: string;
  try {
    if ((await stat(folder)).isDirectory()) return;
    what = 'a file';
  } catch (error) {
    if (codeOf(error) === 'ELOOP') what = 'a loop of links';
    else if (codeOf(error) === 'ENOENT') what = 'a link to nothing';
    else throw error;
  }
  throw notAFolder(folder, `${what} stands there`, exists);
}

/** The ENOTDIR refusal (library-refusal.ts) of a folder that cannot be made: `what` says why. */
const notAFolder = (folder: string, what: string, cause: unknown) =>
  Object.assign(new Error(`ENOTDIR: not a directory (${what}), mkdir '${folder}'`, { cause }), { code: 'ENOTDIR', syscall: 'mkdir', path: folder });

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;
