import { fileOrganizerConfigSchema, loadConfigOrExit } from '@anime/config';
import { createLogger } from '@anime/logger';
import { runService } from '@anime/pipeline';
import { startFileOrganizer } from './start';

async function main(): Promise<void> {
  const config = loadConfigOrExit(fileOrganizerConfigSchema, 'file-organizer');
  const log = createLogger('file-organizer', config.LOG_LEVEL);
  await runService(log, () => startFileOrganizer(config, log));
}

main().catch((error) => {
  console.error(`file-organizer failed to start: ${(error as Error).message}`);
  process.exit(1);
});
