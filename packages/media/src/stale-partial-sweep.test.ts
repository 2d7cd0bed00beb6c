import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PARTIAL_GRACE_MS } from './remove-stale-partials';
import { sweepStalePartialsInBackground, type StalePartialSweep } from './stale-partial-sweep';

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('sweepStalePartialsInBackground', () => {
  let root: string;
  let lines: { level: string; message: string; meta?: Record<string, unknown>; at: number }[];
  const log = {
    info: (message: string, meta?: Record<string, unknown>) => lines.push({ level: 'info', message, meta, at: Date.now() }),
    error: (message: string, meta?: Record<string, unknown>) => lines.push({ level: 'error', message, meta, at: Date.now() }),
  };
  const sweeps: StalePartialSweep[] = [];
  const start = (...args: Parameters<typeof sweepStalePartialsInBackground>) => {
    const sweep = sweepStalePartialsInBackground(...args);
    sweeps.push(sweep);
    return sweep;
  };
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lib-partials-sweep-'));
    lines = [];
  });
  afterEach(async () => {
    await Promise.all(sweeps.splice(0).map((sweep) => sweep.stop()));
    await rm(root, { recursive: true, force: true });
  });

  const stale = async (relative: string) => {
    const absolute = path.join(root, relative);
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, 'x');
    const when = new Date(Date.now() - PARTIAL_GRACE_MS * 2);
    await utimes(absolute, when, when);
    return absolute;
  };
  const young = async (relative: string) => {
    const absolute = path.join(root, relative);
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, 'x');
    return absolute;
  };
  const exists = (file: string) => stat(file).then(
    () => true,
    () => false,
  );
  const left = async () => (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
  const ended = () => lines.filter((line) => line.message === 'stale partial library files removed');
  const summary = () => lines.map(({ level, message, meta }) => ({ level, message, meta }));

  it('when started, then it returns at once, removes in the background and logs the count once done', async () => {
    await stale('demo/a.png.abcdef012345.partial');
    await stale('demo/ep01/b.png.abcdef012345.partial');
    const held = gate();
    const sweep = start(root, log, { beforeRemove: () => held.opened });
    let done = false;
    void sweep.done.then(() => (done = true));
    await sleep(50);
    expect(done).toBe(false);
    expect(lines).toEqual([]);
    held.open();
    await sweep.done;
    expect(await left()).toBe(0);
    expect(summary()).toEqual([{ level: 'info', message: 'stale partial library files removed', meta: { count: 2, ms: expect.any(Number) } }]);
  });

  it('when it fails, then the error is logged, never thrown', async () => {
    const file = path.join(root, 'not-a-folder');
    await writeFile(file, 'x');
    const sweep = start(file, log);
    await expect(sweep.done).resolves.toBeUndefined();
    expect(summary()).toEqual([{ level: 'error', message: 'stale partial library files sweep failed', meta: { error: expect.stringContaining('ENOTDIR'), ms: expect.any(Number) } }]);
  });

  it('when stopped (a shutdown) while about to remove, then nothing is removed once stop() has resolved', async () => {
    await stale('demo/a.png.abcdef012345.partial');
    await stale('demo/b.png.abcdef012345.partial');
    const reached = gate();
    const held = gate();
    const sweep = start(root, log, {
      beforeRemove: () => {
        reached.open();
        return held.opened;
      },
    });
    await reached.opened;
    const stopping = sweep.stop();
    held.open();
    await stopping;
    await sleep(50);
    expect(await left()).toBe(2);
    expect(summary()).toEqual([{ level: 'info', message: 'stale partial library files sweep stopped', meta: { count: 0, ms: expect.any(Number) } }]);
    // Stopping again is harmless.
    await sweep.stop();
  });

  it('when the service runs on, then a temp file left after the first sweep is removed by a later one, once past the grace, and each sweep is logged', async () => {
    const sweep = start(root, log, { intervalMs: 30 });
    await sweep.done;
    expect(summary()).toEqual([{ level: 'info', message: 'stale partial library files removed', meta: { count: 0, ms: expect.any(Number) } }]);
    // Left by a write killed after the first sweep (no restart follows); another write still under way.
    const leftover = await stale('demo/ep01/sc001/kai/kai_v1_job_00.png.0123456789ab.partial');
    const live = await young('demo/ep01/sc001/kai/kai_v1_job_01.png.0123456789ab.partial');
    await until(async () => !(await exists(leftover)), 'a later sweep removing the leftover');
    const afterRemoval = ended().length;
    await until(() => ended().length >= afterRemoval + 2, 'two more sweeps');
    expect(await exists(live)).toBe(true);
    expect(ended().map((line) => line.meta?.count).filter((count) => count !== 0)).toEqual([1]);
    expect(lines.every((line) => line.level === 'info')).toBe(true);
  });

  it('when a sweep takes longer than the interval, then no second one starts until it ends, and the next waits the interval from that end', async () => {
    const intervalMs = 40;
    await stale('demo/a.png.abcdef012345.partial');
    const held = gate();
    const calls: number[] = [];
    let active = 0;
    let mostAtOnce = 0;
    const sweep = start(root, log, {
      intervalMs,
      beforeRemove: async () => {
        calls.push(Date.now());
        active += 1;
        mostAtOnce = Math.max(mostAtOnce, active);
        try {
          if (calls.length === 1) await held.opened;
        } finally {
          active -= 1;
        }
      },
    });
    await until(() => calls.length === 1, 'the first sweep reaching its removal');
    // Held ten intervals: a sweep started on a fixed beat (setInterval) would have reached the same file again.
    await sleep(intervalMs * 10);
    expect(calls).toHaveLength(1);
    expect(lines).toEqual([]);
    held.open();
    await sweep.done;
    const firstEnd = ended()[0].at;
    const later = await stale('demo/b.png.abcdef012345.partial');
    await until(async () => !(await exists(later)), 'the next sweep removing a later leftover');
    expect(calls).toHaveLength(2);
    expect(mostAtOnce).toBe(1);
    expect(calls[1] - firstEnd).toBeGreaterThanOrEqual(intervalMs - 5);
  });

  it('when stopped between sweeps, then it resolves at once and no sweep runs after: nothing is removed or logged', async () => {
    const sweep = start(root, log, { intervalMs: 30 });
    await until(() => ended().length >= 2, 'a second sweep');
    const began = Date.now();
    await sweep.stop();
    expect(Date.now() - began).toBeLessThan(1_000);
    const linesAtStop = lines.length;
    const leftover = await stale('demo/a.png.abcdef012345.partial');
    await sleep(300);
    expect(await exists(leftover)).toBe(true);
    expect(lines).toHaveLength(linesAtStop);
  });

  it('when stopped during a later sweep while about to remove, then nothing is removed after the stop and no sweep follows', async () => {
    let reached = false;
    const held = gate();
    const sweep = start(root, log, {
      intervalMs: 30,
      beforeRemove: () => {
        reached = true;
        return held.opened;
      },
    });
    await sweep.done;
    const leftover = await stale('demo/a.png.abcdef012345.partial');
    await until(() => reached, 'a later sweep reaching its removal');
    const stopping = sweep.stop();
    held.open();
    await stopping;
    await sleep(200);
    expect(await exists(leftover)).toBe(true);
    expect(summary()).toEqual([
      { level: 'info', message: 'stale partial library files removed', meta: { count: 0, ms: expect.any(Number) } },
      { level: 'info', message: 'stale partial library files sweep stopped', meta: { count: 0, ms: expect.any(Number) } },
    ]);
  });

  it('when a sweep fails, then the next one still comes', async () => {
    const file = path.join(root, 'not-a-folder');
    await writeFile(file, 'x');
    start(file, log, { intervalMs: 20 });
    await until(() => lines.length >= 3, 'three sweeps');
    expect(lines.every((line) => line.message === 'stale partial library files sweep failed')).toBe(true);
  });

  it('when only the timer for the next sweep is left, then it keeps no process alive', async () => {
    // A process sweeping with the default interval, never stopped, must still exit once its work is done.
    const script = [
      `const { sweepStalePartialsInBackground } = require(${JSON.stringify(path.join(__dirname, 'stale-partial-sweep.ts'))});`,
      `sweepStalePartialsInBackground(${JSON.stringify(root)}, { info: (m) => console.log(m), error: (m) => console.log(m) });`,
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script], { timeout: 15_000 });
    expect(stdout.trim()).toBe('stale partial library files removed');
  }, 30_000);
});
