import { mkdir } from 'node:fs/promises';
import { gatewayConfigSchema, loadConfigOrExit } from '@anime/config';
import { createDb } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createPipelineQueues, createRedis, installShutdown, JobEventPublisher } from '@anime/pipeline';
import { createGateway } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit(gatewayConfigSchema, 'gateway');
  const log = createLogger('gateway', config.LOG_LEVEL);
  await mkdir(config.LIBRARY_DIR, { recursive: true });
  const db = createDb(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL, 'worker');
  const subscriber = createRedis(config.REDIS_URL, 'subscriber');
  const queues = createPipelineQueues(redis, config.QUEUE_PREFIX);
  const gateway = await createGateway({
    db,
    queues,
    events: new JobEventPublisher(redis, config.QUEUE_PREFIX),
    subscriber,
    queuePrefix: config.QUEUE_PREFIX,
    libraryDir: config.LIBRARY_DIR,
    referenceMaxBytes: config.REFERENCE_MAX_BYTES,
    bundleMaxBytes: config.BUNDLE_MAX_BYTES,
    bundleMaxUncompressedBytes: config.BUNDLE_MAX_UNCOMPRESSED_BYTES,
    log,
    isReady: async () => {
      await db.$queryRaw`SELECT 1`;
      await redis.ping();
    },
  });
  const port = await gateway.listen(config.PORT);
  log.info('gateway listening', { port });

  installShutdown(log, async () => {
    await gateway.close();
    await queues.close();
    subscriber.disconnect();
    await redis.quit();
    await db.$disconnect();
  });
}

main().catch((error) => {
  console.error(`gateway failed to start: ${(error as Error).message}`);
  process.exit(1);
});
