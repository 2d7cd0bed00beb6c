import { RUNTIME_ENV } from '@anime/stack';

/** Extra Node flags for the four services only (e.g. `--require …/cpu-profile-preload.cjs` for a CPU profile), not the bench itself nor the simulators. */
export const SERVICE_NODE_OPTIONS_ENV = 'BENCH_SERVICE_NODE_OPTIONS';

/**
 * The NODE_OPTIONS the services get when BENCH_SERVICE_NODE_OPTIONS is set: the ones they would have
 * had (the caller's NODE_OPTIONS, else the runtime's), then the extra flags. Empty when it is not set.
 */
export function serviceNodeOptions(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const extra = env[SERVICE_NODE_OPTIONS_ENV]?.trim();
  if (!extra) return {};
  const base = env.NODE_OPTIONS ?? RUNTIME_ENV.NODE_OPTIONS;
  return { NODE_OPTIONS: `${base} ${extra}`.trim() };
}
