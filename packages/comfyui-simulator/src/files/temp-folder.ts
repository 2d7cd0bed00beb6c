import { mkdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { relative, resolve, isAbsolute, sep } from 'node:path';

const holds = (folder: string, inner: string) => {
  const path = relative(folder, inner);
  // Out of `folder` only through a '..' segment: a folder inside named '..output' is held.
  return path === '' || (path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path));
};

/**
 * The temp folder a caller gave, checked before anything in it is removed: it is emptied at start and
 * at close (ComfyUI's cleanup_temp), so one that is, or holds, the output or input folder, the OS temp
 * folder (where the simulator makes its own folders, and every other program its files), the current
 * directory or the home directory would take the caller's files with it. (ComfyUI itself empties
 * `<--temp-directory>/temp`, never the folder it was given.) Throws naming the folder it holds.
 */
export function checkedTempFolder(tempDir: string, others: { outputDir?: string; inputDir?: string }): string {
  const dir = resolve(tempDir);
  const kept: Array<[string, string | undefined]> = [
    ['the output folder', others.outputDir],
    ['the input folder', others.inputDir],
    ['the OS temp folder', tmpdir()],
    ['the current directory', process.cwd()],
    ['the home directory', homedir()],
  ];
  for (const [what, folder] of kept) {
    if (folder && holds(dir, resolve(folder))) {
      throw new Error(`tempDir ${dir} is or holds ${what} (${resolve(folder)}): it is emptied at start and at close, as ComfyUI empties its temp folder; give it a folder of its own`);
    }
  }
  return dir;
}

/** shutil.rmtree(temp_dir, ignore_errors=True), then the folder made again (os.makedirs) for the next files. */
export function emptyFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
