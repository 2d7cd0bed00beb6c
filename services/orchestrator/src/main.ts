import { loadConfigOrExit, orchestratorConfigSchema } from '@anime/config';
import { createLogger } from '@anime/logger';
import { runService } from '@anime/pipeline';
import { startOrchestrator } from './start';

async function main(): Promise<void> {
  const config = loadConfigOrExit(orchestratorConfigSchema, 'orchestrator');
  const log = createLogger('orchestrator', config.LOG_LEVEL);
  await runService(log, () => startOrchestrator(config, log));
}

main().catch((error) => {
  console.error(`orchestrator failed to start: ${(error as Error).message}`);
  process.exit(1);
});
