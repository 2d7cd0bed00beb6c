import { freePort } from './free-port';
import { probeHost } from './probe-host';
import { ServiceProcess } from './service-process';
import { startSimulatorProcess } from './simulator-process';
import { Supervisor, type SupervisorOptions } from './supervisor';

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
  /** Passed to every service; CHARACTER_PORT, ORCHESTRATOR_PORT, FILE_ORGANIZER_PORT set here are kept, else free ports are picked. */
  extraEnv?: NodeJS.ProcessEnv;
  /** Restart services that exit unexpectedly (`pnpm start`); tests leave it off and stop/start services themselves. */
  supervise?: SupervisorOptions;
  echo?: (line: string) => void;
}

export type ServiceName = 'simulator' | 'gateway' | 'character' | 'orchestrator' | 'file-organizer';
export type AppService = Exclude<ServiceName, 'simulator'>;

export interface Stack {
  gatewayUrl: string;
  comfyUrls: string[];
  services: Partial<Record<ServiceName, ServiceProcess>>;
  /** The four services (not the simulator), for restart tests. */
  serviceNames: ServiceName[];
  /** Each service's /readyz. */
  readyUrls: Record<AppService, string>;
  /** Present when `supervise` was given. */
  supervisor?: Supervisor;
  /** Extra instances started with `addInstance`, in start order. */
  extraInstances: StackInstance[];
  /**
   * Starts one more process of a service (scale-out), on the stack's environment with a port of its
   * own (the gateway's API, or the worker's ops port); stopped with the stack.
   */
  addInstance(name: AppService): Promise<StackInstance>;
  stop(): Promise<void>;
}

export interface StackInstance {
  name: AppService;
  process: ServiceProcess;
  /** http://127.0.0.1:<its port>, the gateway's API, or http://<OPS_HOST>:<its port>, a worker's /healthz, /readyz and /metrics. */
  url: string;
}

// The variable choosing each service's HTTP port (the gateway's API, the others' /readyz, /healthz, /metrics).
const PORT_VARIABLES: Record<AppService, string> = {
  gateway: 'PORT',
  character: 'CHARACTER_PORT',
  orchestrator: 'ORCHESTRATOR_PORT',
  'file-organizer': 'FILE_ORGANIZER_PORT',
};
const APP_SERVICES = Object.keys(PORT_VARIABLES) as AppService[];

/** The given port, or a free one: readiness is polled on it, so it cannot be 0. */
async function portFor(value: string | number | undefined): Promise<number> {
  const port = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(port) && port > 0 ? port : freePort();
}

/** Starts the four services (and the simulator when no ComfyUI is given), each as its own process, ready when its /readyz answers. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const services: Partial<Record<ServiceName, ServiceProcess>> = {};
  const echo = options.echo;
  let comfyUrls = options.comfyUrls ?? [];
  try {
    if (!comfyUrls.length) {
      const simulator = await startSimulatorProcess({ port: options.simulatorPort, stepMs: options.simulatorStepMs, outputDir: options.simulatorOutputDir, portVariable: 'SIMULATOR_PORT', echo });
      services.simulator = simulator.process;
      comfyUrls = [simulator.url];
    }
    const ports = {} as Record<AppService, number>;
    ports.gateway = await portFor(options.gatewayPort);
    for (const name of APP_SERVICES.slice(1)) ports[name] = await portFor(options.extraEnv?.[PORT_VARIABLES[name]]);
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.queuePrefix,
      LIBRARY_DIR: options.libraryDir,
      COMFYUI_URLS: comfyUrls.join(','),
      LOG_LEVEL: options.logLevel ?? 'info',
      ...options.extraEnv,
      ...Object.fromEntries(APP_SERVICES.map((name) => [PORT_VARIABLES[name], String(ports[name])])),
    };
    // The workers' /readyz listen on OPS_HOST, as each child sees it (its own environment over this one's).
    const opsHost = probeHost({ ...process.env, ...env }.OPS_HOST);
    const baseUrl = (name: AppService, port: number) => `http://${name === 'gateway' ? '127.0.0.1' : opsHost}:${port}`;
    const readyUrls = Object.fromEntries(APP_SERVICES.map((name) => [name, `${baseUrl(name, ports[name])}/readyz`])) as Record<AppService, string>;
    for (const name of APP_SERVICES) {
      services[name] = new ServiceProcess({ name, program: name, env, readyUrl: readyUrls[name], port: { value: ports[name], variable: PORT_VARIABLES[name] } }, echo);
    }
    // All at once: a service's start is mostly waiting (its modules read from disk, its connections
    // made, its readiness polled every 100 ms), so four in a row took about four times one (10 s on
    // 2 cores, against 4 s). The first failure ends the start; the rest are stopped below.
    await Promise.all(APP_SERVICES.map((name) => services[name]!.start()));
    const supervised = [...APP_SERVICES, 'simulator' as const].map((name) => services[name]).filter((s): s is ServiceProcess => !!s);
    const supervisor = options.supervise ? new Supervisor(supervised, options.supervise) : undefined;
    const extraInstances: StackInstance[] = [];
    return {
      gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
      comfyUrls,
      services,
      serviceNames: [...APP_SERVICES],
      readyUrls,
      supervisor,
      extraInstances,
      addInstance: async (name) => {
        const port = await freePort();
        const url = baseUrl(name, port);
        const child = new ServiceProcess(
          { name: `${name}-${extraInstances.filter((i) => i.name === name).length + 2}`, program: name, env: { ...env, [PORT_VARIABLES[name]]: String(port) }, readyUrl: `${url}/readyz`, port: { value: port, variable: PORT_VARIABLES[name] } },
          echo,
        );
        const instance = { name, process: child, url };
        extraInstances.push(instance);
        await child.start();
        return instance;
      },
      stop: async () => {
        supervisor?.stop();
        await Promise.all([stopAll(services), ...extraInstances.map((i) => i.process.stop())]);
      },
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
