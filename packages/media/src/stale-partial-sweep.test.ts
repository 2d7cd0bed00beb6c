import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PARTIAL_GRACE_MS } from './remove-stale-partials';
import { sweepStalePartialsInBackground } from './stale-partial-sweep';

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('sweepStalePartialsInBackground', () => {
  let root: string;
  let lines: { level: string; message: string; meta?: Record<string, unknown> }[];
  const log = {
    info: (message: string, meta?: Record<string, unknown>) => lines.push({ level: 'info', message, meta }),
    error: (message: string, meta?: Record<string, unknown>) => lines.push({ level: 'error', message, meta }),
  };
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lib-partials-sweep-'));
    lines = [];
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const stale = async (relative: string) => {
    const absolute = path.join(root, relative);
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, 'x');
    const when = new Date(Date.now() - PARTIAL_GRACE_MS * 2);
    await utimes(absolute, when, when);
  };
  const left = async () => (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;

  it('when started, then it returns at once, removes in the background and logs the count once done', async () => {
    await stale('demo/a.png.abcdef012345.partial');
    await stale('demo/ep01/b.png.abcdef012345.partial');
    const held = gate();
    const sweep = sweepStalePartialsInBackground(root, log, { beforeRemove: () => held.opened });
    let done = false;
    void sweep.done.then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).toBe(false);
    expect(lines).toEqual([]);
    held.open();
    await sweep.done;
    expect(await left()).toBe(0);
    expect(lines).toEqual([{ level: 'info', message: 'stale partial library files removed', meta: { count: 2, ms: expect.any(Number) } }]);
  });

  it('when it fails, then the error is logged, never thrown', async () => {
    const file = path.join(root, 'not-a-folder');
    await writeFile(file, 'x');
    const sweep = sweepStalePartialsInBackground(file, log);
    await expect(sweep.done).resolves.toBeUndefined();
    expect(lines).toEqual([{ level: 'error', message: 'stale partial library files sweep failed', meta: { error: expect.stringContaining('ENOTDIR'), ms: expect.any(Number) } }]);
  });

  it('when stopped (a shutdown) while about to remove, then nothing is removed once stop() has resolved', async () => {
    await stale('demo/a.png.abcdef012345.partial');
    await stale('demo/b.png.abcdef012345.partial');
    const reached = gate();
    const held = gate();
    const sweep = sweepStalePartialsInBackground(root, log, {
      beforeRemove: () => {
        reached.open();
        return held.opened;
      },
    });
    await reached.opened;
    const stopping = sweep.stop();
    held.open();
    await stopping;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await left()).toBe(2);
    expect(lines).toEqual([{ level: 'info', message: 'stale partial library files sweep stopped', meta: { count: 0, ms: expect.any(Number) } }]);
    // Stopping again is harmless.
    await sweep.stop();
  });
});
