import { get } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

const MiB = 1024 * 1024;

// A full collection on demand: what is live, not what V8 has yet to collect (RSS follows the latter,
// and grows with every large answer until a major collection, whatever the code holds).
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;
const heldNow = () => {
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
};
const held = () => {
  collect();
  return heldNow();
};

/** How far above the live peak so far an uncollected reading may be before a collection tells what is live. */
const SLACK = 4 * MiB;

/**
 * Runs `work` (against the in-process gateway) and reports, in MiB, how far the memory this process
 * holds (heap and buffers) rose above where it started: an upper bound on it, at most SLACK over.
 *
 * Memory is read 250 ms after the last look. A reading within SLACK of the live peak so far counts
 * as it is (what is live, plus garbage): no collection. A higher one is collected, to tell what is
 * live, and the next look waits at least four times as long as that collection took.
 * Collecting at every look, every 250 ms, once made a listing of 100 MB take over 300 s in a full
 * CI run: a jest worker that had run many files held a heap of 1–2 GB, each full collection of it
 * took 0.5–1.3 s, and the collections took the event loop back to back.
 */
export async function heldGrowth(work: () => Promise<void>): Promise<number> {
  const before = held();
  let livePeak = before;
  let bound = before;
  let collectMs = 0;
  const look = () => {
    const reading = heldNow();
    if (reading <= livePeak + SLACK) {
      bound = Math.max(bound, reading);
      return;
    }
    const t0 = Date.now();
    const live = held();
    collectMs = Date.now() - t0;
    livePeak = Math.max(livePeak, live);
    bound = Math.max(bound, live);
  };
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    timer = setTimeout(() => {
      look();
      next();
    }, Math.max(250, 4 * collectMs));
  };
  next();
  try {
    await work();
  } finally {
    clearTimeout(timer);
  }
  return (bound - before) / MiB;
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
