import { freePort } from './free-port';
import { ServiceProcess } from './service-process';

export interface SimulatorProcessOptions {
  port?: number;
  stepMs?: number;
  outputDir?: string;
  inputDir?: string;
  /** Custom node packs the simulated backend has, e.g. ['ipadapter'] (ComfyUI_IPAdapter_plus). */
  customNodes?: string[];
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
  const process = new ServiceProcess({ name, entry: 'packages/comfyui-simulator/src/main.ts', args, env: {}, readyPattern: /listening on http/ }, options.echo);
  await process.start();
  return { process, url: `http://127.0.0.1:${port}` };
}
