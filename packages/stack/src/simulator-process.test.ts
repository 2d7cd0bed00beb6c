import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulatorProcess } from './simulator-process';

/**
 * The simulator makes its input, output and temp folders under the OS temp folder and removes them
 * when it closes; a SIGKILL (the crash tests) gives it no chance to, so whoever started it must.
 * Each test points TMPDIR (which the child inherits) at a folder of its own and counts what is left.
 */
describe('startSimulatorProcess: temp folders', () => {
  const savedTmpdir = process.env.TMPDIR;
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'sim-process-tmp-'));
    process.env.TMPDIR = root;
  });

  afterEach(() => {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    rmSync(root, { recursive: true, force: true });
  });

  /** Everything under `root`, as paths relative to it. */
  const leftOver = () => readdirSync(root, { recursive: true }).map(String).sort();

  it('when the simulator is SIGKILLed, restarted and SIGKILLed again, then nothing it made is left in the temp folder', async () => {
    const simulator = await startSimulatorProcess({ stepMs: 5 });
    try {
      expect(leftOver().some((entry) => entry.includes('comfyui-sim-input-'))).toBe(true);
      await simulator.process.stop('SIGKILL');
      expect(leftOver()).toEqual([]);
      await simulator.process.start();
      await simulator.process.stop('SIGKILL');
      expect(leftOver()).toEqual([]);
    } finally {
      await simulator.process.stop();
    }
  }, 60_000);

  it('when it is stopped with SIGTERM, then nothing is left either', async () => {
    const simulator = await startSimulatorProcess({ stepMs: 5 });
    await simulator.process.stop();
    expect(leftOver()).toEqual([]);
  }, 60_000);
});
