import { parseArgs } from 'node:util';

export const SCENARIOS = ['overhead', 'throughput', 'scaling'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchArgs {
  help: boolean;
  /** Sequential jobs on one backend: overhead per job and progress latency. */
  sequential: number;
  /** The throughput backlog, submitted at once. */
  jobs: number;
  /** Jobs run through the throughput stack before its backlog is measured (0: none beyond the usual few). */
  warmUp: number;
  /** Simulators (1 step × 1 ms) of the throughput figure and the soak. */
  throughputBackends: number;
  /** Simulator counts of the scaling figure. */
  backends: number[];
  /** Scaling backlog per backend (k backends get perBackend × k jobs). */
  perBackend: number;
  /** Sampler steps and time per step of the overhead, progress and scaling jobs. */
  steps: number;
  stepMs: number;
  /** Which scenarios run (the soak runs alone, with --soak). */
  only: Scenario[];
  /** Jobs of the soak; when given, only the soak runs. */
  soak: number | undefined;
  /** Soak jobs in flight at once. */
  window: number;
  /** POSTs in flight at once while a backlog is submitted. */
  submitConcurrency: number;
  /** The longest any one wait may take (a stack start, a run without any job completing), in seconds. */
  timeoutS: number;
  out: string | undefined;
}

/** A mistake in the command line: printed as one line and the usage, never as a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function integer(value: string | undefined, name: string, fallback: number, least = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < least) throw new UsageError(`${name} must be ${least === 0 ? 'a whole number, 0 or more' : 'a positive integer'}, not "${value}"`);
  return n;
}

function scenarios(value: string | undefined): Scenario[] {
  if (value === undefined) return [...SCENARIOS];
  return value.split(',').map((v) => {
    const name = v.trim();
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`--only takes ${SCENARIOS.join(', ')}, not "${name}"`);
    return name as Scenario;
  });
}

/** `pnpm bench`'s flags; an unknown flag, a stray argument or a bad number is a UsageError. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        sequential: { type: 'string' },
        jobs: { type: 'string' },
        'warm-up': { type: 'string' },
        'throughput-backends': { type: 'string' },
        backends: { type: 'string' },
        'per-backend': { type: 'string' },
        steps: { type: 'string' },
        'step-ms': { type: 'string' },
        only: { type: 'string' },
        soak: { type: 'string' },
        window: { type: 'string' },
        'submit-concurrency': { type: 'string' },
        timeout: { type: 'string' },
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
  const soak = text('soak');
  return {
    help: values.help === true,
    sequential: integer(text('sequential'), '--sequential', 50),
    jobs: integer(text('jobs'), '--jobs', 2000),
    warmUp: integer(text('warm-up'), '--warm-up', 2000, 0),
    throughputBackends: integer(text('throughput-backends'), '--throughput-backends', 4),
    backends: (text('backends') ?? '1,2,4,8').split(',').map((v) => integer(v.trim(), '--backends', 1)),
    perBackend: integer(text('per-backend'), '--per-backend', 30),
    steps: integer(text('steps'), '--steps', 5),
    stepMs: integer(text('step-ms'), '--step-ms', 40),
    only: scenarios(text('only')),
    soak: soak === undefined ? undefined : integer(soak, '--soak', 0),
    window: integer(text('window'), '--window', 200),
    submitConcurrency: integer(text('submit-concurrency'), '--submit-concurrency', 32),
    timeoutS: integer(text('timeout'), '--timeout', 120),
    out: text('out'),
  };
}
