import { fileOrganizerConfigSchema, loadConfigOrExit } from '@anime/config';
import { createLogger } from '@anime/logger';
import { exitOnSignalWhileStarting, installShutdown } from '@anime/pipeline';
import { startFileOrganizer } from './start';

async function main(): Promise<void> {
  const config = loadConfigOrExit(fileOrganizerConfigSchema, 'file-organizer');
  const log = createLogger('file-organizer', config.LOG_LEVEL);
  const started = exitOnSignalWhileStarting(log);
  const service = await startFileOrganizer(config, log);
  started();
  installShutdown(log, service.stop);
}

main().catch((error) => {
  console.error(`file-organizer failed to start: ${(error as Error).message}`);
  process.exit(1);
});
