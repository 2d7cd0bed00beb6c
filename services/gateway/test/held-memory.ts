import { get } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

const MiB = 1024 * 1024;

// A full collection on demand: what is live, not what V8 has yet to collect (RSS follows the latter,
// and grows with every large answer until a major collection, whatever the code holds).
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;
const held = () => {
  collect();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
};

/**
 * Runs `work` (against the in-process gateway) and reports, in MiB, how far the memory this process
 * holds (heap and buffers, after a collection every 250 ms) rose above where it started.
 */
export async function heldGrowth(work: () => Promise<void>): Promise<number> {
  const before = held();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, held())), 250);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return (peak - before) / MiB;
}

/**
 * GETs `url`, handing the answer over a chunk at a time as it comes, so the test holds none of it
 * (node:http reads only as fast as the chunks are taken; fetch buffers ahead, which would count).
 */
export function streamedGet(url: string, headers: Record<string, string>, onChunk: (chunk: Buffer) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, async (response) => {
      try {
        for await (const chunk of response) onChunk(chunk as Buffer);
        resolve(response.statusCode ?? 0);
      } catch (error) {
        reject(error);
      }
    }).on('error', reject);
  });
}
