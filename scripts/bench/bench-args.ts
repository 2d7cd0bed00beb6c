import { parseArgs } from 'node:util';

export interface BenchArgs {
  help: boolean;
  backends: number[];
  jobs: number;
  sequential: number;
  steps: number;
  stepMs: number;
  out: string | undefined;
}

/** A mistake in the command line: printed as one line and the usage, never as a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, not "${value}"`);
  return n;
}

/** `pnpm bench`'s flags; an unknown flag, a stray argument or a bad number is a UsageError. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        backends: { type: 'string' },
        jobs: { type: 'string' },
        sequential: { type: 'string' },
        steps: { type: 'string' },
        'step-ms': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    // node:util's own messages name the flag ("Unknown option '--bogus'"); they carry an ERR_PARSE_ARGS_ code.
    if (String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message.split('\n')[0]);
    throw error;
  }
  const text = (name: string) => values[name] as string | undefined;
  return {
    help: values.help === true,
    backends: (text('backends') ?? '1,2').split(',').map((v) => integer(v.trim(), '--backends', 1)),
    jobs: integer(text('jobs'), '--jobs', 200),
    sequential: integer(text('sequential'), '--sequential', 50),
    steps: integer(text('steps'), '--steps', 5),
    stepMs: integer(text('step-ms'), '--step-ms', 10),
    out: text('out'),
  };
}
