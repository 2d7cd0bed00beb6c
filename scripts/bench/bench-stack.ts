import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mintKey } from '@anime/api-keys';
import { seedDemo } from '@anime/character';
import { createDb } from '@anime/db';
import { startSimulatorProcess, startStack, type SimulatorProcess, type Stack } from '@anime/stack';
import { createTestDatabase, removeQueueKeys, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';

export interface BenchStack {
  stack: Stack;
  databaseUrl: string;
  /** A key minted into the scratch database for the benchmark's client. */
  apiKey: string;
  simulators: SimulatorProcess[];
  close(): Promise<void>;
}

/**
 * The four services and `backends` simulators, each its own process, over a scratch database,
 * queue prefix and library that are removed afterwards: a benchmark never touches real data.
 */
export async function startBenchStack(options: { backends: number; stepMs: number; redisUrl: string }): Promise<BenchStack> {
  const database: TestDatabase = await createTestDatabase('bench');
  const libraryDir = await mkdtemp(path.join(tmpdir(), 'bench-library-'));
  const queuePrefix = uniqueQueuePrefix('bench');
  const simulators: SimulatorProcess[] = [];
  let stack: Stack | undefined;
  const close = async () => {
    await stack?.stop();
    await Promise.all(simulators.map((s) => s.process.stop()));
    await database.drop();
    await removeQueueKeys(queuePrefix, options.redisUrl);
    await rm(libraryDir, { recursive: true, force: true });
  };
  try {
    await seedDemo({ databaseUrl: database.url, libraryDir });
    const db = createDb(database.url, { max: 1 });
    const { key: apiKey } = await mintKey(db, { name: 'bench', scopes: ['read', 'generate'] }).finally(() => db.$disconnect());
    for (let i = 0; i < options.backends; i++) simulators.push(await startSimulatorProcess({ stepMs: options.stepMs }, `simulator-${i + 1}`));
    stack = await startStack({
      databaseUrl: database.url,
      redisUrl: options.redisUrl,
      queuePrefix,
      libraryDir,
      comfyUrls: simulators.map((s) => s.url),
      logLevel: 'info',
      // The backlog is submitted as fast as the gateway answers, from one address: the bench measures
      // the pipeline, not the per-client limits, so they are lifted out of its way.
      extraEnv: { RATE_LIMIT_RPS: '1000000', MAX_QUEUED_PER_KEY: '1000000', MAX_QUEUE_DEPTH: '1000000' },
    });
    return { stack, simulators, databaseUrl: database.url, apiKey, close };
  } catch (error) {
    await close();
    throw error;
  }
}
