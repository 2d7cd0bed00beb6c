import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startStack, type Stack } from '@anime/stack';
import { REPO_ROOT, withLocalDefaults } from './default-env';

/** The four services, plus the simulator when COMFYUI_URLS is empty, as child processes. */
export async function runStack(echo: (line: string) => void): Promise<{ stack: Stack; env: NodeJS.ProcessEnv }> {
  const env = withLocalDefaults();
  await mkdir(env.LIBRARY_DIR!, { recursive: true });
  const comfyUrls = (env.COMFYUI_URLS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const stack = await startStack({
    databaseUrl: env.DATABASE_URL!,
    redisUrl: env.REDIS_URL!,
    queuePrefix: env.QUEUE_PREFIX!,
    libraryDir: path.resolve(env.LIBRARY_DIR!),
    comfyUrls,
    gatewayPort: Number(env.PORT),
    simulatorPort: Number(env.SIMULATOR_PORT ?? 8188),
    simulatorStepMs: Number(env.SIMULATOR_STEP_MS ?? 50),
    simulatorOutputDir: env.SIMULATOR_OUTPUT_DIR ?? path.join(REPO_ROOT, '.data', 'comfyui-output'),
    logLevel: env.LOG_LEVEL,
    extraEnv: { CHARACTER_PORT: env.CHARACTER_PORT, ORCHESTRATOR_PORT: env.ORCHESTRATOR_PORT, FILE_ORGANIZER_PORT: env.FILE_ORGANIZER_PORT },
    echo,
  });
  return { stack, env };
}
