import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator, type SimulatorOptions } from '@anime/comfyui-simulator';
import { orchestratorConfigSchema } from '@anime/config';
import { generationRequestBodySchema, type GenerationRequestBodyInput, type JobConditioning } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger, type Logger } from '@anime/logger';
import { JobLifecycle, type CreatedJob, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, startTcpProxy, TEST_REDIS_URL, uniqueQueuePrefix, type TcpProxy, type TestDatabase } from '@anime/testing';
import { startOrchestrator, type OrchestratorTimings } from '../src/start';

const BASE_CONDITIONING: JobConditioning = { positive: 'kainakamura, 1boy', negative: 'lowres', loras: [], references: [], outfit: null };

export interface OrchestratorFixture {
  db: Db;
  lifecycle: JobLifecycle;
  simulators: Simulator[];
  /** With `proxied`: a TCP proxy in front of each simulator (the orchestrator's COMFYUI_URLS name them), to cut or partition. */
  proxies: TcpProxy[];
  service: RunningService;
  libraryDir: string;
  /** Kai Nakamura, version 1: what a resolved generation names. */
  character: { id: string; versionId: string };
  /** A generation already resolved (as the gateway writes it), handed to generation-renders; its id. */
  resolvedGeneration(request?: Partial<GenerationRequestBodyInput>, conditioning?: Partial<JobConditioning>): Promise<string>;
  /** The same generation's row, handed to no queue (a test drives it, or enqueues it at a stage of its choosing). */
  createdGeneration(request?: Partial<GenerationRequestBodyInput>, conditioning?: Partial<JobConditioning>): Promise<CreatedJob>;
  /**
   * Stops the orchestrator and starts a new one over the same database, queues, library and backends;
   * `service` is then the new one. `whileStopped` runs in between, with no orchestrator running.
   */
  restart(whileStopped?: () => Promise<void>): Promise<void>;
  /** Another orchestrator over the same database, queues, library and backends (a second replica); stopped by close() unless stopped before. */
  startReplica(log?: Logger): Promise<RunningService>;
  close(): Promise<void>;
}

/**
 * The orchestrator in-process over a database, queue prefix and library of its own, driving the
 * given simulators (in-process too), with one character to resolve generations against.
 */
export async function startOrchestratorFixture(
  label: string,
  options: {
    simulators: SimulatorOptions[];
    /** Simulators another fixture started (another deployment's ComfyUI, shared): driven first, and left running by close(). */
    sharing?: Simulator[];
    env?: Record<string, string>;
    proxied?: boolean;
    /** More COMFYUI_URLS after the simulators', where nothing answers (a closed port, say). */
    unreachableUrls?: string[];
    log?: Logger;
    /** Shorter waits than production's (the stop grace, the probe period), for the orchestrator and every restart or replica of it. */
    timings?: OrchestratorTimings;
  },
): Promise<OrchestratorFixture> {
  const database: TestDatabase = await createTestDatabase(label);
  const db = createDb(database.url, { max: 3 });
  const queuePrefix = uniqueQueuePrefix(label);
  const libraryDir = await mkdtemp(path.join(tmpdir(), `${label}-library-`));
  const own = await Promise.all(options.simulators.map((o) => startSimulator(o)));
  const simulators = [...(options.sharing ?? []), ...own];
  const proxies = options.proxied ? await Promise.all(simulators.map((s) => startTcpProxy({ host: '127.0.0.1', port: s.port }))) : [];
  const backendUrls = options.proxied ? simulators.map((s, i) => proxies[i].urlFor(s.url)) : simulators.map((s) => s.url);
  const character = await db.character.create({ data: { slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 1 } });
  const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai Nakamura' } } });
  const config = orchestratorConfigSchema.parse({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    COMFYUI_URLS: [...backendUrls, ...(options.unreachableUrls ?? [])].join(','),
    LIBRARY_DIR: libraryDir,
    ORCHESTRATOR_PORT: '0',
    JOB_MAX_ATTEMPTS: '1',
    ...options.env,
  });
  const log = options.log ?? createLogger('orchestrator', 'error');
  const service = await startOrchestrator(config, log, options.timings);
  const lifecycle = new JobLifecycle(db);
  const replicas = new Set<RunningService>();
  const fixture: OrchestratorFixture = {
    db,
    lifecycle,
    simulators,
    proxies,
    service,
    libraryDir,
    character: { id: character.id, versionId: version.id },
    resolvedGeneration: async (request = {}, conditioning = {}) => {
      const job = await fixture.createdGeneration(request, conditioning);
      await fixture.service.ctx.queues.enqueueStage(job);
      return job.id;
    },
    createdGeneration: async (request = {}, conditioning = {}) => {
      const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'on a rooftop', steps: 2, width: 64, height: 64, ...request });
      const resolution = { characterId: character.id, characterVersionId: version.id, conditioning: { ...BASE_CONDITIONING, ...conditioning } };
      return (await lifecycle.create({ body, source: 'test', resolution })).job;
    },
    restart: async (whileStopped) => {
      await fixture.service.stop();
      try {
        await whileStopped?.();
      } finally {
        fixture.service = await startOrchestrator(config, log, options.timings);
      }
    },
    startReplica: async (replicaLog = log) => {
      const replica = await startOrchestrator(config, replicaLog, options.timings);
      replicas.add(replica);
      const stop = replica.stop.bind(replica);
      replica.stop = () => {
        replicas.delete(replica);
        return stop();
      };
      return replica;
    },
    close: async () => {
      await Promise.all([...replicas].map((replica) => replica.stop()));
      await fixture.service.stop();
      await Promise.all(proxies.map((p) => p.close()));
      await Promise.all(own.map((s) => s.close()));
      await db.$disconnect();
      await database.drop();
      await removeQueueKeys(queuePrefix);
      await rm(libraryDir, { recursive: true, force: true });
    },
  };
  return fixture;
}
