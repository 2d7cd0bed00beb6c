import { mintKey } from '@anime/api-keys';
import { seedDemo } from '@anime/character';
import { createDb } from '@anime/db';
import { startSimulatorProcess, startStack, type AppService, type SimulatorProcess, type Stack } from '@anime/stack';
import { createTestDatabase, removeQueueKeys, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { scratchFolder } from './scratch-root';
import { serviceNodeOptions } from './service-node-options';
import type { MetricsEndpoint } from './service-metrics';
import { withTimeout } from './waits';

export interface BenchStack {
  stack: Stack;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  /** The scratch library the file-organizer files into. */
  libraryDir: string;
  /** A key minted into the scratch database for the benchmark's client. */
  apiKey: string;
  simulators: SimulatorProcess[];
  /** Each service's /metrics: the gateway's with an admin key, the workers' on their ops port. */
  metrics: Record<AppService, MetricsEndpoint>;
  services: { name: AppService; pid: number | undefined }[];
  /** The variables this bench set on the services beyond the defaults (e.g. the soak's retention). */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export interface BenchStackOptions {
  backends: number;
  stepMs: number;
  redisUrl: string;
  timeoutMs: number;
  /** The run's scratch root (withScratchRoot): the library and the simulators' outputs go there, and stay until the run ends. */
  scratchRoot: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The four services and `backends` simulators, each its own process, over a scratch database,
 * queue prefix and library: a benchmark never touches real data. The database and the queues are
 * removed when the stack stops, the files with the run's scratch root (see withScratchRoot).
 */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const database: TestDatabase = await createTestDatabase('bench');
  const libraryDir = await scratchFolder(options.scratchRoot, 'library');
  const queuePrefix = uniqueQueuePrefix('bench');
  const simulators: SimulatorProcess[] = [];
  let stack: Stack | undefined;
  const close = async () => {
    await withTimeout(
      (async () => {
        await stack?.stop();
        await Promise.all(simulators.map((s) => s.process.stop()));
        await database.drop();
        await removeQueueKeys(queuePrefix, options.redisUrl);
      })(),
      60_000,
      'the bench stack to stop',
    );
  };
  try {
    await seedDemo({ databaseUrl: database.url, libraryDir });
    const db = createDb(database.url, { max: 1 });
    const [{ key: apiKey }, { key: adminKey }] = await Promise.all([
      mintKey(db, { name: 'bench', scopes: ['read', 'generate'] }),
      mintKey(db, { name: 'bench-metrics', scopes: ['admin'] }),
    ]).finally(() => db.$disconnect());
    for (let i = 0; i < options.backends; i++) {
      const name = `simulator-${i + 1}`;
      simulators.push(await startSimulatorProcess({ stepMs: options.stepMs, outputDir: await scratchFolder(options.scratchRoot, `${name}-output`) }, name));
    }
    stack = await withTimeout(
      startStack({
        databaseUrl: database.url,
        redisUrl: options.redisUrl,
        queuePrefix,
        libraryDir,
        comfyUrls: simulators.map((s) => s.url),
        logLevel: 'info',
        // The backlog is submitted as fast as the gateway answers, from one address and one
        // connection that follows every job of it: the bench measures the pipeline, not the
        // per-client limits, so they are lifted out of its way.
        extraEnv: { RATE_LIMIT_RPS: '1000000', MAX_QUEUED_PER_KEY: '1000000', MAX_QUEUE_DEPTH: '1000000', SOCKET_MAX_SUBSCRIPTIONS: '1000000', ...serviceNodeOptions(), ...options.env },
      }),
      options.timeoutMs,
      'the four services to start',
    );
    const started = stack;
    const metrics = Object.fromEntries(
      started.serviceNames.map((name) => {
        const service = name as AppService;
        const endpoint: MetricsEndpoint =
          service === 'gateway'
            ? { url: `${started.gatewayUrl}/metrics`, headers: { Authorization: `Bearer ${adminKey}` } }
            : { url: started.readyUrls[service].replace(/\/readyz$/, '/metrics') };
        return [service, endpoint];
      }),
    ) as Record<AppService, MetricsEndpoint>;
    const services = started.serviceNames.map((name) => ({ name: name as AppService, pid: started.services[name]?.pid }));
    return { stack: started, simulators, databaseUrl: database.url, redisUrl: options.redisUrl, queuePrefix, libraryDir, apiKey, metrics, services, env: options.env ?? {}, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Starts a bench stack, runs `use` on it and always stops it. */
export async function withBenchStack<T>(options: BenchStackOptions, use: (bench: BenchStack) => Promise<T>): Promise<T> {
  const bench = await startBenchStack(options);
  try {
    return await use(bench);
  } catch (error) {
    // What the services logged as going wrong is what explains a failed run: shown before they stop.
    for (const name of bench.stack.serviceNames) {
      const lines = (bench.stack.services[name]?.output ?? []).filter((line) => /"level":"(error|warn)"|Error|FATAL/.test(line)).slice(-5);
      for (const line of lines) console.error(`[${name}] ${line.slice(0, 2000)}`);
    }
    throw error;
  } finally {
    await bench.close();
  }
}
