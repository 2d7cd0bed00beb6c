import { gatewayConfigSchema, loadConfigOrExit } from '@anime/config';
import { createLogger } from '@anime/logger';
import { exitOnSignalWhileStarting, installShutdown } from '@anime/pipeline';
import { startGateway } from './start';

async function main(): Promise<void> {
  const config = loadConfigOrExit(gatewayConfigSchema, 'gateway');
  const log = createLogger('gateway', config.LOG_LEVEL);
  const started = exitOnSignalWhileStarting(log);
  const gateway = await startGateway(config, log);
  started();
  installShutdown(log, gateway.stop);
}

main().catch((error) => {
  console.error(`gateway failed to start: ${(error as Error).message}`);
  process.exit(1);
});
