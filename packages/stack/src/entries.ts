/**
 * Every program the project runs, as its TypeScript source and the JavaScript `pnpm build` makes of
 * it (paths from the repository root). The build script and the process runner both read this table,
 * so a program cannot be built under one name and started under another.
 */
export interface ProgramEntry {
  source: string;
  compiled: string;
}

export const PROGRAMS = {
  gateway: { source: 'services/gateway/src/main.ts', compiled: 'services/gateway/dist/main.js' },
  character: { source: 'services/character/src/main.ts', compiled: 'services/character/dist/main.js' },
  orchestrator: { source: 'services/orchestrator/src/main.ts', compiled: 'services/orchestrator/dist/main.js' },
  'file-organizer': { source: 'services/file-organizer/src/main.ts', compiled: 'services/file-organizer/dist/main.js' },
  simulator: { source: 'packages/comfyui-simulator/src/main.ts', compiled: 'packages/comfyui-simulator/dist/main.js' },
  'db:migrate': { source: 'packages/db/src/cli/migrate.ts', compiled: 'packages/db/dist/migrate.js' },
  'db:seed': { source: 'services/character/src/cli/seed-demo.ts', compiled: 'services/character/dist/seed-demo.js' },
  'character:import-legacy': { source: 'services/character/src/cli/import-legacy.ts', compiled: 'services/character/dist/import-legacy.js' },
  'apikey:create': { source: 'packages/api-keys/src/cli/create.ts', compiled: 'packages/api-keys/dist/apikey-create.js' },
  'apikey:list': { source: 'packages/api-keys/src/cli/list.ts', compiled: 'packages/api-keys/dist/apikey-list.js' },
  'apikey:revoke': { source: 'packages/api-keys/src/cli/revoke.ts', compiled: 'packages/api-keys/dist/apikey-revoke.js' },
  'apikey:ensure-file': { source: 'packages/api-keys/src/cli/ensure-key-file.ts', compiled: 'packages/api-keys/dist/apikey-ensure-file.js' },
  anime: { source: 'packages/cli/src/main.ts', compiled: 'packages/cli/dist/anime.js' },
  start: { source: 'scripts/start.ts', compiled: 'dist/start.js' },
} as const satisfies Record<string, ProgramEntry>;

export type ProgramName = keyof typeof PROGRAMS;
