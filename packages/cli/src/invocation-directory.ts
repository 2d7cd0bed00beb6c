/**
 * The directory the command was typed in, which relative paths (`download -o`, its default file
 * name, `--key-file`) are taken from. `pnpm anime …` runs the workspace's `anime` script at the
 * repository's root, from whatever directory it was typed in, and names that one in `INIT_CWD` (as
 * npm does); run any other way (`node packages/cli/dist/anime.js`, the package's bin) the current
 * directory is that one already.
 */
export function invocationDirectory(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  return env.npm_lifecycle_event === 'anime' && env.INIT_CWD ? env.INIT_CWD : cwd;
}
