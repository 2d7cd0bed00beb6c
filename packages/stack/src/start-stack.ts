import { freePort } from './free-port';
import { ServiceProcess } from './service-process';
import { startSimulatorProcess } from './simulator-process';

export interface StackOptions {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  libraryDir: string;
  /** ComfyUI base URLs; when empty, the project's simulator is started and used. */
  comfyUrls?: string[];
  gatewayPort?: number;
  simulatorPort?: number;
  simulatorStepMs?: number;
  simulatorOutputDir?: string;
  logLevel?: string;
  extraEnv?: NodeJS.ProcessEnv;
  echo?: (line: string) => void;
}

export type ServiceName = 'simulator' | 'gateway' | 'character' | 'orchestrator' | 'file-organizer';

export interface Stack {
  gatewayUrl: string;
  comfyUrls: string[];
  services: Partial<Record<ServiceName, ServiceProcess>>;
  /** The four services (not the simulator), for restart tests. */
  serviceNames: ServiceName[];
  stop(): Promise<void>;
}

const SERVICE_READY = /"message":"(service ready|gateway listening)"/;

/** Starts the four services (and the simulator when no ComfyUI is given), each as its own process. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const services: Partial<Record<ServiceName, ServiceProcess>> = {};
  const echo = options.echo;
  let comfyUrls = options.comfyUrls ?? [];
  try {
    if (!comfyUrls.length) {
      const simulator = await startSimulatorProcess({ port: options.simulatorPort, stepMs: options.simulatorStepMs, outputDir: options.simulatorOutputDir, echo });
      services.simulator = simulator.process;
      comfyUrls = [simulator.url];
    }
    const gatewayPort = options.gatewayPort ?? (await freePort());
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.queuePrefix,
      LIBRARY_DIR: options.libraryDir,
      COMFYUI_URLS: comfyUrls.join(','),
      LOG_LEVEL: options.logLevel ?? 'info',
      PORT: String(gatewayPort),
      CHARACTER_PORT: '0',
      ORCHESTRATOR_PORT: '0',
      FILE_ORGANIZER_PORT: '0',
      ...options.extraEnv,
    };
    const specs: [ServiceName, string][] = [
      ['gateway', 'services/gateway/src/main.ts'],
      ['character', 'services/character/src/main.ts'],
      ['orchestrator', 'services/orchestrator/src/main.ts'],
      ['file-organizer', 'services/file-organizer/src/main.ts'],
    ];
    for (const [name, entry] of specs) services[name] = new ServiceProcess({ name, entry, env, readyPattern: SERVICE_READY }, echo);
    // Sequential on purpose: each runs the (locked, idempotent) migrations first; 2 cores.
    for (const [name] of specs) await services[name]!.start();
    return {
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
      comfyUrls,
      services,
      serviceNames: specs.map(([name]) => name),
      stop: () => stopAll(services),
    };
  } catch (error) {
    await stopAll(services);
    throw error;
  }
}

async function stopAll(services: Partial<Record<ServiceName, ServiceProcess>>): Promise<void> {
  const order: ServiceName[] = ['gateway', 'character', 'orchestrator', 'file-organizer', 'simulator'];
  await Promise.all(order.map((name) => services[name]?.stop()));
}
