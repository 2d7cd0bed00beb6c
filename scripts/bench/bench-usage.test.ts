import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseBenchArgs, UsageError } from './bench-args';

// `pnpm bench` run as a process (its program, scripts/bench/main.ts, through tsx as package.json
// runs it): a usage mistake prints one line and the usage, exit 2, no stack trace; --help exits 0.

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, ['scripts/bench/main.ts', ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('pnpm bench: usage', () => {
  it('when --help is given, then it prints the usage and exits 0 without starting anything', async () => {
    const result = await bench(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: pnpm bench \[options\]/);
    expect(result.stderr).not.toMatch(/^bench: /m);
    expect(result.stdout).toContain('--soak N');
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--jobs', 'many'], '--jobs must be a positive integer, not "many"'],
    [['--warm-up=-1'], '--warm-up must be a whole number, 0 or more, not "-1"'],
    [['--backends', '1,0'], '--backends must be a positive integer, not "0"'],
    [['stray'], "Unexpected argument 'stray'"],
    [['--soak', '0'], '--soak must be a positive integer, not "0"'],
    [['--only', 'overhead,soak'], '--only takes overhead, throughput, scaling, not "soak"'],
  ])('when run with %j, then one line says what is wrong, the usage follows, exit 2, no stack trace', async (args, message) => {
    const result = await bench(args);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(`pnpm bench: ${message}${message.startsWith('Unexpected') ? '. This command does not take positional arguments' : ''}`);
    expect(result.stderr).toContain('Usage: pnpm bench [options]');
    expect(result.stderr).not.toMatch(/^\s+at .+[(:]\d+/m);
    expect(result.stdout).toBe('');
  });
});

describe('parseBenchArgs', () => {
  it('when no flag is given, then the defaults hold', () => {
    // The defaults reproduce issue #17's targets: 50 sequential jobs, a 2,000-job backlog on 4
    // simulators, scaling over 1, 2, 4, 8 simulators at 5 steps × 40 ms.
    expect(parseBenchArgs([])).toEqual({
      help: false,
      sequential: 50,
      jobs: 2000,
      warmUp: 2000,
      throughputBackends: 4,
      backends: [1, 2, 4, 8],
      perBackend: 30,
      steps: 5,
      stepMs: 40,
      only: ['overhead', 'throughput', 'scaling'],
      soak: undefined,
      window: 200,
      submitConcurrency: 32,
      timeoutS: 120,
      out: undefined,
    });
    expect(parseBenchArgs(['--backends', '1,2,4', '--out', '-'])).toMatchObject({ backends: [1, 2, 4], out: '-' });
    expect(parseBenchArgs(['--soak', '10000', '--window', '300'])).toMatchObject({ soak: 10000, window: 300 });
    expect(parseBenchArgs(['--only', 'throughput, scaling'])).toMatchObject({ only: ['throughput', 'scaling'] });
    expect(parseBenchArgs(['--warm-up', '0'])).toMatchObject({ warmUp: 0 });
  });

  it('when a number is empty or fractional, then it is a UsageError', () => {
    expect(() => parseBenchArgs(['--steps', ''])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--steps', '1.5'])).toThrow(UsageError);
  });
});
