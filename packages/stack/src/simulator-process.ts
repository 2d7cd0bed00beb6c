import { freePort } from './free-port';
import { ServiceProcess } from './service-process';

export interface SimulatorProcessOptions {
  port?: number;
  stepMs?: number;
  outputDir?: string;
  inputDir?: string;
  /** Custom node packs the simulated backend has, e.g. ['ipadapter'] (ComfyUI_IPAdapter_plus). */
  customNodes?: string[];
  /** The model files the simulated backend has (default: the simulator's own list). */
  checkpoints?: string[];
  loras?: string[];
  /** Names where the port came from, for the message when it is taken (default: the --port flag). */
  portVariable?: string;
  echo?: (line: string) => void;
}

export interface SimulatorProcess {
  process: ServiceProcess;
  url: string;
}

/** The project's ComfyUI simulator as a process of its own, listening before this resolves. */
export async function startSimulatorProcess(options: SimulatorProcessOptions = {}, name = 'simulator'): Promise<SimulatorProcess> {
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--step-ms', String(options.stepMs ?? 50)];
  if (options.outputDir) args.push('--output-dir', options.outputDir);
  if (options.inputDir) args.push('--input-dir', options.inputDir);
  if (options.customNodes?.length) args.push('--custom-nodes', options.customNodes.join(','));
  if (options.checkpoints) args.push('--checkpoints', options.checkpoints.join(','));
  if (options.loras) args.push('--loras', options.loras.join(','));
  const url = `http://127.0.0.1:${port}`;
  const process = new ServiceProcess(
    // ComfyUI has no /readyz: /system_stats answering means it listens and serves.
    // Its default input, output and temp folders go under a TMPDIR removed after each run, even a SIGKILLed one.
    { name, program: 'simulator', args, env: {}, readyUrl: `${url}/system_stats`, port: { value: port, variable: options.portVariable ?? '--port' }, ownTmpdir: 'comfyui-sim-run' },
    options.echo,
  );
  await process.start();
  return { process, url };
}
