import { describeExit, type ExitInfo, type ServiceProcess } from './service-process';

export interface SupervisorOptions {
  /** Delay before the first restart; doubled for each further failure in the window (1 s, 2 s, 4 s…). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** This many unexpected exits of one service within `windowMs` and the supervisor gives up. */
  maxFailures?: number;
  windowMs?: number;
  /** Where the supervisor reports; every line starts with `[supervisor]`. */
  report?: (line: string) => void;
}

export interface GiveUp {
  service: string;
  failures: number;
  reason: string;
}

/**
 * Restarts a service that exits without being asked to, with exponential backoff, so the stack
 * never runs on half-dead. A service failing `maxFailures` times within `windowMs` (or whose
 * restart cannot be scheduled because the stack is stopping) resolves `gaveUp`: the owner then
 * stops the whole stack and exits non-zero.
 */
export class Supervisor {
  readonly gaveUp: Promise<GiveUp>;
  private resolveGaveUp!: (giveUp: GiveUp) => void;
  private readonly failures = new Map<string, number[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly options: Required<Omit<SupervisorOptions, 'report'>> & Pick<SupervisorOptions, 'report'>;

  constructor(
    private readonly services: ServiceProcess[],
    options: SupervisorOptions = {},
  ) {
    this.options = { initialBackoffMs: 1_000, maxBackoffMs: 30_000, maxFailures: 5, windowMs: 60_000, ...options };
    this.gaveUp = new Promise((resolve) => (this.resolveGaveUp = resolve));
    for (const service of services) service.onUnexpectedExit = (exit) => this.onExit(service, exit);
  }

  /** No more restarts (the stack is stopping); pending ones are cancelled. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const service of this.services) service.onUnexpectedExit = undefined;
  }

  private report(line: string): void {
    this.options.report?.(`[supervisor] ${line}`);
  }

  private onExit(service: ServiceProcess, exit: ExitInfo): void {
    if (this.stopped) return;
    const name = service.spec.name;
    const now = Date.now();
    const recent = (this.failures.get(name) ?? []).filter((at) => now - at < this.options.windowMs);
    recent.push(now);
    this.failures.set(name, recent);
    const what = `${name} (pid ${service.pid}) exited unexpectedly with ${describeExit(exit)}`;
    if (recent.length >= this.options.maxFailures) {
      this.report(`${what}: ${recent.length} failures within ${this.options.windowMs / 1000} s, giving up on the stack`);
      this.resolveGaveUp({ service: name, failures: recent.length, reason: describeExit(exit) });
      return;
    }
    const delay = Math.min(this.options.initialBackoffMs * 2 ** (recent.length - 1), this.options.maxBackoffMs);
    this.report(`${what}: restarting in ${delay} ms (failure ${recent.length} of ${this.options.maxFailures} allowed within ${this.options.windowMs / 1000} s)`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      service.start().then(
        () => this.report(`${name} is back (pid ${service.pid}, ready)`),
        // A restart that dies before it is ready counts as one more failure, with a longer wait.
        (error) => {
          if (this.stopped) return;
          this.report(`${name} restart failed: ${summary(error as Error)}`);
          this.onExit(service, service.lastExit ?? { code: null, signal: null });
        },
      );
    }, delay);
    this.timers.add(timer);
  }
}

/**
 * A failed start's message on one line: its first line, which ends with a colon when the process's
 * last lines follow ("… before it was ready:\n<output>"), completed with the last thing it printed
 * rather than left hanging (the output itself went by already, each line prefixed with its name).
 */
function summary(error: Error): string {
  const [first, ...rest] = error.message.split('\n');
  if (!first.endsWith(':')) return first;
  const last = rest.map((line) => line.trim()).filter(Boolean).at(-1);
  if (!last) return first.slice(0, -1);
  return `${first.slice(0, -1)}; it last printed: ${last.length > 300 ? `${last.slice(0, 300)}…` : last}`;
}
