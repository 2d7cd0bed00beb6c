import { characterConfigSchema, loadConfigOrExit } from '@anime/config';
import { createLogger } from '@anime/logger';
import { runService } from '@anime/pipeline';
import { startCharacterService } from './start';

async function main(): Promise<void> {
  const config = loadConfigOrExit(characterConfigSchema, 'character');
  const log = createLogger('character', config.LOG_LEVEL);
  await runService(log, () => startCharacterService(config, log));
}

main().catch((error) => {
  console.error(`character service failed to start: ${(error as Error).message}`);
  process.exit(1);
});
