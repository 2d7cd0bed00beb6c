/**
 * Figures of the stale-partial sweep (packages/media/src/remove-stale-partials.ts) over a library
 * of many small files in nested folders: its time, how far it grows the process's RSS and heap
 * (peaks, garbage included), and in a run of its own the most it keeps alive (heap after a full
 * GC, every ~100 ms), against the former whole-tree listing (`readdir(root, { recursive: true, withFileTypes })`,
 * kept below as the baseline). Each run is a process of its own (fresh memory), over the same tree.
 *
 *   pnpm exec tsx scripts/partial-sweep-bench.ts [--files 200000] [--dir /tmp/bench-library] [--keep]
 *
 * The tree is made once in --dir (reused when it already holds --files files; removed afterwards
 * unless --keep): 4 levels (project/episode/scene/character) and --files files, of which 1 in 1,000
 * is a stale temp file (and put back before each run, so every run removes the same ones).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PARTIAL_FILE } from '../packages/media/src/library-storage';
import { removeStalePartials } from '../packages/media/src/remove-stale-partials';

const FILES_PER_DIR = 50;
const STALE_EVERY = 1_000;

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

/** The former sweep: one listing of the whole tree, held until every entry is looked at. */
async function formerRemoveStalePartials(root: string, cutoff: number): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !PARTIAL_FILE.test(entry.name)) continue;
    const absolute = path.join(entry.parentPath, entry.name);
    try {
      if ((await stat(absolute)).mtimeMs >= cutoff) continue;
      await rm(absolute);
      removed.push(path.relative(root, absolute));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

/** Leaf folders for `files` files, FILES_PER_DIR each, spread over 4 levels. */
function leafDirs(root: string, files: number): string[] {
  const dirs: string[] = [];
  const leaves = Math.ceil(files / FILES_PER_DIR);
  for (let i = 0; i < leaves; i++) {
    dirs.push(path.join(root, `project${i % 10}`, `ep${Math.floor(i / 10) % 20}`, `sc${Math.floor(i / 200) % 100}`, `char${Math.floor(i / 20_000)}`));
  }
  return dirs;
}

const staleName = (n: number) => `img_${n}.png.${n.toString(16).padStart(12, '0')}.partial`;

function makeTree(root: string, files: number): void {
  const marker = path.join(root, `.made-${files}`);
  let made = false;
  try {
    made = readdirSync(root).includes(path.basename(marker));
  } catch {
    made = false;
  }
  const old = new Date(Date.now() - 24 * 3600_000);
  let n = 0;
  for (const dir of leafDirs(root, files)) {
    if (!made) mkdirSync(dir, { recursive: true });
    for (let i = 0; i < FILES_PER_DIR && n < files; i++, n++) {
      const stale = n % STALE_EVERY === 0;
      if (made && !stale) continue;
      const file = path.join(dir, stale ? staleName(n) : `img_${n}.png`);
      closeSync(openSync(file, 'w'));
      if (stale) utimesSync(file, old, old);
    }
  }
  if (!made) closeSync(openSync(marker, 'w'));
}

/** One run, in this process: prints a JSON line of figures. */
async function runOnce(impl: 'former' | 'current', root: string, retained: boolean): Promise<void> {
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  let peakRetained = base.heapUsed;
  let samples = 0;
  const sample = () => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
    // Every 50th sample (about 100 ms): a full GC, and what is left is what the sweep keeps alive.
    if (retained && ++samples % 50 === 0 && global.gc) {
      global.gc();
      peakRetained = Math.max(peakRetained, process.memoryUsage().heapUsed);
    }
  };
  const timer = setInterval(sample, 2);
  const began = process.hrtime.bigint();
  const cutoff = Date.now() - 10 * 60_000;
  const removed = impl === 'former' ? await formerRemoveStalePartials(root, cutoff) : await removeStalePartials(root, { now: cutoff + 10 * 60_000 });
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  sample();
  clearInterval(timer);
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  // The GCs of a retained run slow it: its time and peaks are not the sweep's own.
  const figures = retained ? { retainedMb: mb(peakRetained - base.heapUsed) } : { ms: Math.round(ms), rssGrowthMb: mb(peakRss - base.rss), heapGrowthMb: mb(peakHeap - base.heapUsed) };
  console.log(JSON.stringify({ impl, removed: removed.length, ...figures }));
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--run');
  if (child > 0) return runOnce(process.argv[child + 1] as 'former' | 'current', arg('dir', ''), process.argv.includes('--retained'));
  const files = Number(arg('files', '200000'));
  const root = path.resolve(arg('dir', '/tmp/bench-library'));
  const makeBegan = Date.now();
  makeTree(root, files);
  console.log(`tree: ${files} files in ${leafDirs(root, files).length} leaf folders under ${root} (made or refreshed in ${Date.now() - makeBegan} ms)`);
  try {
    for (const [impl, retained] of [['former', false], ['current', false], ['former', false], ['current', false], ['former', true], ['current', true]] as const) {
      makeTree(root, files);
      const line = execFileSync(process.execPath, [...process.execArgv, '--expose-gc', __filename, '--run', impl, '--dir', root, ...(retained ? ['--retained'] : [])], { encoding: 'utf8' });
      process.stdout.write(line);
    }
  } finally {
    if (!process.argv.includes('--keep')) rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
