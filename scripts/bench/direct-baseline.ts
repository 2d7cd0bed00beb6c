import { ComfyClient } from '@anime/comfyui-client';
import { textToImage } from '@anime/comfyui-simulator';
import { startSimulatorProcess } from '@anime/stack';

/**
 * The same amount of work sent straight to one simulator by a minimal client: no queue, no
 * database, no library. Jobs per second; what the pipeline reaches against it is the price of durability.
 */
export async function directThroughput(options: { count: number; steps: number; stepMs: number }): Promise<number> {
  const simulator = await startSimulatorProcess({ stepMs: options.stepMs }, 'simulator-direct');
  const client = new ComfyClient({ baseUrl: simulator.url });
  try {
    await client.run(textToImage({ steps: options.steps, width: 64, height: 64, seed: 0 }));
    const started = performance.now();
    await Promise.all(Array.from({ length: options.count }, (_, i) => client.run(textToImage({ steps: options.steps, width: 64, height: 64, seed: i + 1 }))));
    return options.count / ((performance.now() - started) / 1000);
  } finally {
    await client.close();
    await simulator.process.stop();
  }
}
