import { loadConfigOrExit, orchestratorConfigSchema } from '@anime/config';
import { createLogger } from '@anime/logger';
import { exitOnSignalWhileStarting, installShutdown } from '@anime/pipeline';
import { startOrchestrator } from './start';

async function main(): Promise<void> {
  const config = loadConfigOrExit(orchestratorConfigSchema, 'orchestrator');
  const log = createLogger('orchestrator', config.LOG_LEVEL);
  const started = exitOnSignalWhileStarting(log);
  const service = await startOrchestrator(config, log);
  started();
  installShutdown(log, service.stop);
}

main().catch((error) => {
  console.error(`orchestrator failed to start: ${(error as Error).message}`);
  process.exit(1);
});
