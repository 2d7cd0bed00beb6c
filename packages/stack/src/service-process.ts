import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROGRAMS, type ProgramName } from './entries';
import { findRepoRoot } from './repo-root';

export const REPO_ROOT = findRepoRoot(__dirname);

/**
 * What the processes run: `dist` (default) the bundles `pnpm build` writes, as production does;
 * `sources` the TypeScript through tsx (STACK_RUN_FROM=sources), for a quick try without a build.
 */
export type RunFrom = 'dist' | 'sources';

export function runFrom(env: NodeJS.ProcessEnv = process.env): RunFrom {
  const value = env.STACK_RUN_FROM ?? 'dist';
  if (value !== 'dist' && value !== 'sources') throw new Error(`STACK_RUN_FROM must be dist or sources`);
  return value;
}

/** The node arguments that run a program, from its bundle or its sources. */
export function programCommand(program: ProgramName, from: RunFrom = runFrom()): string[] {
  const entry = PROGRAMS[program];
  if (from === 'sources') {
    // `node --import tsx` rather than the tsx binary: the binary runs the script in a grandchild
    // process, which a SIGKILL (crash tests) would leave running.
    return ['--import', 'tsx', path.join(REPO_ROOT, entry.source)];
  }
  const compiled = path.join(REPO_ROOT, entry.compiled);
  if (!existsSync(compiled)) throw new Error(`${entry.compiled} is missing: run pnpm build (or set STACK_RUN_FROM=sources)`);
  return [compiled];
}

/**
 * How every process's Node runs, here (pnpm start, tests, bench) and in the image (infra/Dockerfile
 * sets the same; a test checks). Measured with pnpm bench, they hold each service near 185-225 MiB
 * of RSS, most of the rest being memory the process had freed but still held:
 * - MALLOC_ARENA_MAX=1: glibc otherwise keeps a malloc arena per thread that ran V8's background
 *   compiler or GC work, and keeps what is freed in them;
 * - --v8-pool-size=1: one V8 background thread; the services wait on I/O, and share 2 cores;
 * - --max-semi-space-size=16: a young generation of up to 16 MiB per semi-space, V8's 64-bit
 *   default, said here so that it holds. A smaller one scavenges more often and copies what the
 *   jobs in flight hold each time: the bench's GC pauses (nodejs_gc_duration_seconds) were
 *   1.69-1.72 ms per job over the four services at 2 MiB and 0.75-0.89 at 8 (CPU per job 10.0-11.0
 *   against 8.9-9.0 ms); two stacks benched at the same time, 8 against 16, paused 1.73 / 1.55
 *   against 1.15 / 1.10 ms per job and spent 10.75 / 10.50 against 10.40 / 9.83 ms of CPU, for
 *   about 15 MiB more RSS per service (each step up costs 10-20 MiB).
 * The caller's environment wins (e.g. `NODE_OPTIONS= MALLOC_ARENA_MAX=` to measure without them).
 */
export const RUNTIME_ENV = { MALLOC_ARENA_MAX: '1', NODE_OPTIONS: '--max-semi-space-size=16 --v8-pool-size=1' } as const;

export interface ServiceSpec {
  name: string;
  program: ProgramName;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** Answers 2xx once the process is ready (a service's /readyz); polled after the spawn. */
  readyUrl: string;
  /** The port the process listens on and the variable (or flag) choosing it, for a clear message on a clash. */
  port?: { value: number; variable: string };
  /**
   * Gives each run a TMPDIR of its own (a folder with this name prefix under ours), removed once the
   * run has ended however it ended: a program that makes temp folders (the simulator) removes them
   * when it closes, which a SIGKILL leaves it no chance to do.
   */
  ownTmpdir?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One service as a child process of its own, restartable, with its output prefixed by its name. */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  private stopRequested = false;
  /** Every line the process printed, over all its runs (the last 2000). */
  readonly output: string[] = [];
  /** How many lines the current run printed: what it says about itself when it dies before it is ready. */
  private runLines = 0;
  /** How the last run ended, once it has. */
  lastExit: ExitInfo | undefined;
  /** Called when the process exits without stop() having asked it to (a crash). */
  onUnexpectedExit: ((exit: ExitInfo) => void) | undefined;

  constructor(
    readonly spec: ServiceSpec,
    private readonly echo: (line: string) => void = () => undefined,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and resolves once its readiness URL answers 2xx; rejects if it exits first. */
  async start(timeoutMs = 60_000): Promise<void> {
    this.stopRequested = false;
    this.runLines = 0;
    const env: NodeJS.ProcessEnv = { ...RUNTIME_ENV, ...process.env, ...this.spec.env };
    // Under the TMPDIR the child would have had.
    const scratch = this.spec.ownTmpdir ? mkdtempSync(path.join(env.TMPDIR || tmpdir(), `${this.spec.ownTmpdir}-`)) : undefined;
    if (scratch) env.TMPDIR = scratch;
    const child = spawn(process.execPath, [...programCommand(this.spec.program), ...(this.spec.args ?? [])], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    // 'close' rather than 'exit': the last lines of output (why it died) have been read by then.
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        if (scratch) rmSync(scratch, { recursive: true, force: true });
        this.lastExit = { code, signal };
        resolve(this.lastExit);
      }),
    );
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffer = '';
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) this.record(line);
      });
      // A last line without a newline (a dying process's message, often) counts too.
      stream.on('end', () => {
        if (buffer) this.record(buffer);
        buffer = '';
      });
    }
    let ready = false;
    void this.exited.then((exit) => {
      if (ready && !this.stopRequested) this.onUnexpectedExit?.(exit);
    });
    try {
      ready = await Promise.race([this.pollReady(child, timeoutMs), this.exited.then(() => false)]);
    } catch (error) {
      await this.stop('SIGKILL');
      throw error;
    }
    if (!ready) throw this.exitedEarly(await this.exited);
  }

  private record(line: string): void {
    this.output.push(line);
    this.runLines++;
    if (this.output.length > 2000) this.output.shift();
    this.echo(`[${this.spec.name}] ${line}`);
  }

  /**
   * True once the readiness URL answers 2xx, false if the process exits first. Past `timeoutMs` it
   * fails, unless the service's last answer named dependencies it waits for (`failing`: PostgreSQL or
   * Redis not answering yet), as the services do while they wait at start: that wait is theirs to
   * make, however long the outage, and killing them would only start the same wait again. The
   * `timeoutMs` counts from the last answer naming one: once the dependency is back, the rest of the
   * start (the gateway's after PostgreSQL, say) gets the whole of it, not a deadline long past.
   */
  private async pollReady(child: ChildProcess, timeoutMs: number): Promise<boolean> {
    let deadline = Date.now() + timeoutMs;
    while (child.exitCode === null && child.signalCode === null) {
      let waitingFor: string[] = [];
      try {
        const res = await fetch(this.spec.readyUrl, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) {
          await res.arrayBuffer();
          return true;
        }
        waitingFor = failingOf(await res.json().catch(() => null));
      } catch {
        // not listening yet
      }
      if (waitingFor.length) deadline = Date.now() + timeoutMs;
      else if (Date.now() > deadline) {
        throw new Error(this.withRunOutput(`${this.spec.name} not ready after ${timeoutMs} ms (${this.spec.readyUrl})`));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  private exitedEarly(exit: ExitInfo): Error {
    const port = this.spec.port;
    if (port && this.runOutput().some((line) => line.includes('EADDRINUSE'))) {
      return new Error(`${this.spec.name}: port ${port.value} (${port.variable}) is already in use`);
    }
    return new Error(this.withRunOutput(`${this.spec.name} exited with ${describeExit(exit)} before it was ready`));
  }

  /** The lines the current run printed (not an earlier run's: a restart's failure is about itself). */
  private runOutput(lines = 2000): string[] {
    const count = Math.min(lines, this.runLines, this.output.length);
    return count ? this.output.slice(-count) : [];
  }

  /** `what:` and the run's last lines below it, or `what (it printed nothing)`: never a colon introducing nothing. */
  private withRunOutput(what: string): string {
    const lines = this.runOutput(40);
    return lines.length ? `${what}:\n${lines.join('\n')}` : `${what} (it printed nothing)`;
  }

  /** SIGTERM (graceful) or SIGKILL (crash); resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 25_000): Promise<number | null> {
    this.stopRequested = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.start();
  }

  tail(lines = 40): string {
    return this.output.slice(-lines).join('\n');
  }
}

/** The dependencies a `/readyz` answer names as not answering (`{ failing: [...] }`), if any. */
function failingOf(body: unknown): string[] {
  const failing = (body as { failing?: unknown } | null)?.failing;
  return Array.isArray(failing) ? failing.filter((name): name is string => typeof name === 'string') : [];
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}
