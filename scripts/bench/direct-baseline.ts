import { ComfyClient } from '@anime/comfyui-client';
import { textToImage } from '@anime/comfyui-simulator';
import { withTimeout } from './waits';

/**
 * What the orchestrator keeps on each backend: one prompt running plus BACKEND_PREFETCH (default 1)
 * waiting in its own queue. The minimal client holds as many, so both drive the backends alike.
 */
export const PROMPTS_PER_BACKEND = 2;

/**
 * The same work sent straight to the given simulators by a minimal client: no queue, no database,
 * no library; each backend kept fed with PROMPTS_PER_BACKEND prompts, the next prompt going to
 * whichever backend frees a slot first. Jobs per second; what the pipeline reaches against it is
 * the price of durability.
 */
export async function directThroughput(urls: string[], options: { count: number; steps: number; timeoutMs: number }): Promise<{ jobsPerSecond: number; wallMs: number }> {
  const clients = urls.map((baseUrl) => new ComfyClient({ baseUrl }));
  const prompt = (seed: number) => textToImage({ steps: options.steps, width: 64, height: 64, seed });
  try {
    await Promise.all(clients.map((c, i) => withTimeout(c.run(prompt(1_000_000 + i)), 30_000, `a warm-up prompt on ${urls[i]}`)));
    let next = 0;
    const started = performance.now();
    const lane = async (client: ComfyClient) => {
      while (next < options.count) {
        const seed = next++;
        await withTimeout(client.run(prompt(seed)), options.timeoutMs, `prompt ${seed} sent straight to ${client.baseUrl}`);
      }
    };
    await Promise.all(clients.flatMap((c) => Array.from({ length: PROMPTS_PER_BACKEND }, () => lane(c))));
    const wallMs = performance.now() - started;
    return { jobsPerSecond: options.count / (wallMs / 1000), wallMs };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
