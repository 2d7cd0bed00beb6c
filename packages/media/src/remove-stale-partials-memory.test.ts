import { execFile } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync, utimesSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// 5 × 10 × 10 folders of 100 files: 50,000 files, one in each folder a stale temp file.
const FOLDERS = [5, 10, 10];
const FILES_PER_DIR = 100;
const MB = 1024 * 1024;

/**
 * Where the tree is made: a RAM file system (/dev/shm) where there is one. Making and removing 50,000
 * files on a disk's journaled file system took 8-15 s of a loaded CI's time (outside the test); in RAM,
 * under 1 s. What the sweep keeps alive is the same on either: it holds names, whatever holds the files.
 */
function treeBase(): string {
  try {
    if (!statSync('/dev/shm').isDirectory()) return tmpdir();
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/**
 * A year's library holds millions of files: the sweep must hold what one folder's read needs, not
 * a listing of the whole tree. What the sweep keeps alive is read after a full GC now and then as
 * it looks at temp files, mid-walk, in a process of its own (test/fixtures/sweep-heap.ts: in a test
 * worker, each full GC walked the worker's whole heap, and a loaded CI ran past the timeout): the
 * former whole-tree listing kept 5 MB alive over these 50,000 files, growing with the tree.
 */
describe('removeStalePartials over a large library', () => {
  let root: string;
  const stalePaths: string[] = [];
  beforeAll(async () => {
    root = await mkdtemp(path.join(treeBase(), 'lib-partials-large-'));
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
  // rm -rf: Node's recursive rm walks the 50,000 files in JavaScript, twice as long.
  afterAll(() => (root ? promisify(execFile)('rm', ['-rf', root]) : undefined));

  it('when it walks 50,000 files, then what it keeps alive stays under 3 MB all the way (0.5 MB measured) (the whole-tree listing kept 5 MB)', async () => {
    const script = path.join(__dirname, '..', 'test', 'fixtures', 'sweep-heap.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', script, root], { timeout: 150_000 });
    const { held, looks, removed } = JSON.parse(stdout) as { held: number; looks: number; removed: string[] };
    expect(removed.sort()).toEqual([...stalePaths].sort());
    expect(looks).toBe(stalePaths.length);
    console.log(`held at most ${(held / MB).toFixed(2)} MB over ${stalePaths.length * FILES_PER_DIR} files`);
    expect(held).toBeLessThan(3 * MB);
  }, 180_000);
});
