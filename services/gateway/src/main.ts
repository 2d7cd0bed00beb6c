import { gatewayConfigSchema, loadConfigOrExit } from '@anime/config';
import { createLogger } from '@anime/logger';
import { runService } from '@anime/pipeline';
import { startGateway } from './start';

async function main(): Promise<void> {
  const config = loadConfigOrExit(gatewayConfigSchema, 'gateway');
  const log = createLogger('gateway', config.LOG_LEVEL);
  await runService(log, () => startGateway(config, log));
}

main().catch((error) => {
  console.error(`gateway failed to start: ${(error as Error).message}`);
  process.exit(1);
});
