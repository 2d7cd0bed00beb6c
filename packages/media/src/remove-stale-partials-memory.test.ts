import { closeSync, mkdirSync, openSync, utimesSync } from 'node:fs';
// The module itself (not a namespace copy), so that the sweep's own calls meet the spy.
import fsPromises from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { removeStalePartials } from './remove-stale-partials';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// 5 × 10 × 10 folders of 100 files: 50,000 files, one in each folder a stale temp file.
const FOLDERS = [5, 10, 10];
const FILES_PER_DIR = 100;
const MB = 1024 * 1024;

/**
 * A year's library holds millions of files: the sweep must hold what one folder's read needs, not
 * a listing of the whole tree. What the sweep keeps alive is read after a full GC each time it
 * looks at a temp file (its `stat`), mid-walk: the former whole-tree listing kept 5 MB alive
 * over these 50,000 files, growing with the tree.
 */
describe('removeStalePartials over a large library', () => {
  let root: string;
  const stalePaths: string[] = [];
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lib-partials-large-'));
    const old = new Date(Date.now() - 24 * 3600_000);
    for (let a = 0; a < FOLDERS[0]; a++) {
      for (let b = 0; b < FOLDERS[1]; b++) {
        for (let c = 0; c < FOLDERS[2]; c++) {
          const dir = path.join(root, `project${a}`, `ep${b}`, `sc${c}`);
          mkdirSync(dir, { recursive: true });
          for (let i = 0; i < FILES_PER_DIR - 1; i++) closeSync(openSync(path.join(dir, `kai_v1_${i}.png`), 'w'));
          const stale = path.join(dir, `kai_v1_x.png.${(a * 100 + b * 10 + c).toString(16).padStart(12, '0')}.partial`);
          closeSync(openSync(stale, 'w'));
          utimesSync(stale, old, old);
          stalePaths.push(path.relative(root, stale));
        }
      }
    }
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('when it walks 50,000 files, then what it keeps alive stays under 3 MB all the way (0.2 MB measured) (the whole-tree listing kept 5 MB)', async () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    let looks = 0;
    let held = 0;
    const realStat = fsPromises.stat;
    // A plain wrapper (a jest spy would keep every call's arguments alive, and count them in).
    fsPromises.stat = ((file: string, ...rest: []) => {
      // Every 25th temp file looked at (20 times over the walk): a full GC, then what is left.
      if (String(file).endsWith('.partial') && looks++ % 25 === 0) {
        gc();
        held = Math.max(held, process.memoryUsage().heapUsed - before);
      }
      return realStat(file, ...rest);
    }) as typeof fsPromises.stat;
    try {
      expect((await removeStalePartials(root)).sort()).toEqual([...stalePaths].sort());
    } finally {
      fsPromises.stat = realStat;
    }
    expect(looks).toBe(stalePaths.length);
    console.log(`held at most ${(held / MB).toFixed(2)} MB over ${stalePaths.length * FILES_PER_DIR} files`);
    expect(held).toBeLessThan(3 * MB);
  }, 60_000);
});
