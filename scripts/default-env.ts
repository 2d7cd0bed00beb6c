import path from 'node:path';
import { findRepoRoot } from '@anime/stack';

// Found upwards: this file runs from scripts/ (tsx) and bundled in dist/start.js alike.
export const REPO_ROOT = findRepoRoot(__dirname);

/**
 * Local defaults for `pnpm start`, `pnpm demo` and the setup command, matching what
 * scripts/ensure-services.sh provides. Anything already set in the environment wins.
 */
export function withLocalDefaults(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/anime_production',
    REDIS_URL: 'redis://127.0.0.1:6379/0',
    QUEUE_PREFIX: 'bull',
    LIBRARY_DIR: path.join(REPO_ROOT, '.data', 'library'),
    PORT: '8080',
    CHARACTER_PORT: '8081',
    ORCHESTRATOR_PORT: '8082',
    FILE_ORGANIZER_PORT: '8083',
    SIMULATOR_PORT: '8188',
    ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  };
}
