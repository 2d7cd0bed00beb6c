import { isAbsolute, join, resolve, sep } from 'node:path';

/** os.path.commonpath of two absolute paths. */
export function commonPath(a: string, b: string): string {
  const left = resolve(a).split(sep);
  const right = resolve(b).split(sep);
  const common: string[] = [];
  for (let i = 0; i < Math.min(left.length, right.length) && left[i] === right[i]; i++) common.push(left[i]);
  return common.join(sep) || sep;
}

export function isInside(base: string, target: string): boolean {
  return commonPath(resolve(base), resolve(target)) === resolve(base);
}

/** os.path.join: an absolute second part replaces the first, as in Python. */
export function pyJoin(base: string, part: string): string {
  return isAbsolute(part) ? part : join(base, part);
}

export type FolderType = 'input' | 'output' | 'temp';

/** folder_paths.annotated_filepath: a trailing " [output]", " [input]" or " [temp]" picks the folder. */
export function splitAnnotation(name: string): { name: string; type?: FolderType } {
  for (const type of ['output', 'input', 'temp'] as const) {
    const suffix = ` [${type}]`;
    if (name.endsWith(suffix)) return { name: name.slice(0, -suffix.length), type };
  }
  return { name };
}
