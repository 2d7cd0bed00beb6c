/** Where one output of a job is filed, relative to LIBRARY_DIR. Every segment is already validated. */
export interface LibraryPathInput {
  project: string;
  episode: string;
  scene: string;
  shot: string | null;
  characterSlug: string;
  version: number;
  jobId: string;
  index: number;
  extension: string;
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `<project>/<episode>/<scene>/<character>/[<shot>/]<character>_v<version>_<job id>_<nn>.<ext>`.
 * The name is a function of the job and output index only, so filing the same output twice
 * (after a crash) lands on the same path instead of a second copy.
 */
export function libraryPath(input: LibraryPathInput): string {
  const segments = [input.project, input.episode, input.scene, input.characterSlug, ...(input.shot ? [input.shot] : [])];
  for (const segment of segments) {
    if (!SAFE_SEGMENT.test(segment) || segment.length > 100) throw new Error(`unsafe library path segment: ${JSON.stringify(segment)}`);
  }
  const index = String(input.index + 1).padStart(2, '0');
  return [...segments, `${input.characterSlug}_v${input.version}_${input.jobId}_${index}.${input.extension}`].join('/');
}
