import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { portProblem, startStack, type Stack, type SupervisorOptions } from '@anime/stack';
import { REPO_ROOT, withLocalDefaults } from './default-env';

/** The ComfyUI base URLs configured, or none (then the simulator runs on SIMULATOR_PORT). */
export function configuredComfyUrls(env: NodeJS.ProcessEnv): string[] {
  return (env.COMFYUI_URLS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Why the stack cannot listen where `env` says (a port taken, not a number, given twice), naming the
 * port and its variable, or null: the four services' ports, and the simulator's when it runs.
 */
export function stackPortProblem(env: NodeJS.ProcessEnv): Promise<string | null> {
  const simulated = configuredComfyUrls(env).length === 0;
  const ports = ['PORT', 'CHARACTER_PORT', 'ORCHESTRATOR_PORT', 'FILE_ORGANIZER_PORT', ...(simulated ? ['SIMULATOR_PORT'] : [])];
  return portProblem(ports.map((variable) => ({ variable, value: env[variable] })));
}

/** The four services, plus the simulator when COMFYUI_URLS is empty, as child processes. */
export async function runStack(
  echo: (line: string) => void,
  options: { env?: NodeJS.ProcessEnv; supervise?: SupervisorOptions } = {},
): Promise<{ stack: Stack; env: NodeJS.ProcessEnv }> {
  const env = options.env ?? withLocalDefaults();
  // The services prove it writable at start; a path that cannot even be made is said here, once.
  await mkdir(env.LIBRARY_DIR!, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`LIBRARY_DIR: cannot create the library directory (${error.code ?? 'unknown error'})`);
  });
  const stack = await startStack({
    databaseUrl: env.DATABASE_URL!,
    redisUrl: env.REDIS_URL!,
    queuePrefix: env.QUEUE_PREFIX!,
    libraryDir: path.resolve(env.LIBRARY_DIR!),
    comfyUrls: configuredComfyUrls(env),
    gatewayPort: Number(env.PORT),
    simulatorPort: Number(env.SIMULATOR_PORT ?? 8188),
    simulatorStepMs: Number(env.SIMULATOR_STEP_MS ?? 50),
    simulatorOutputDir: env.SIMULATOR_OUTPUT_DIR ?? path.join(REPO_ROOT, '.data', 'comfyui-output'),
    logLevel: env.LOG_LEVEL,
    extraEnv: { CHARACTER_PORT: env.CHARACTER_PORT, ORCHESTRATOR_PORT: env.ORCHESTRATOR_PORT, FILE_ORGANIZER_PORT: env.FILE_ORGANIZER_PORT },
    supervise: options.supervise,
    echo,
  });
  return { stack, env };
}
