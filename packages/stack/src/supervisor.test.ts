import type { ExitInfo, ServiceProcess } from './service-process';
import { Supervisor } from './supervisor';

/** Stands in for a ServiceProcess: `crash()` is an unexpected exit; `start()` succeeds unless told to fail. */
class FakeService {
  pid = 100;
  starts = 0;
  failStarts = 0;
  /** What each failed start says, in turn, as ServiceProcess words it. */
  failures: string[] = [];
  lastExit: ExitInfo | undefined;
  onUnexpectedExit: ((exit: ExitInfo) => void) | undefined;
  constructor(readonly spec: { name: string }) {}
  crash(exit: ExitInfo = { code: null, signal: 'SIGKILL' }): void {
    this.lastExit = exit;
    this.onUnexpectedExit?.(exit);
  }
  async start(): Promise<void> {
    this.starts++;
    this.pid++;
    if (this.failStarts-- > 0) {
      this.lastExit = { code: 1, signal: null };
      throw new Error(this.failures.shift() ?? 'exited with code 1 before it was ready (it printed nothing)');
    }
  }
}

function supervise(services: FakeService[], lines: string[], options = {}) {
  return new Supervisor(services as unknown as ServiceProcess[], { initialBackoffMs: 10, maxBackoffMs: 40, maxFailures: 3, windowMs: 10_000, report: (l) => lines.push(l), ...options });
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('Supervisor', () => {
  it('when a service exits unexpectedly, then it reports which one and how, and restarts it after the backoff', async () => {
    const lines: string[] = [];
    const character = new FakeService({ name: 'character' });
    const supervisor = supervise([character], lines);
    character.crash();
    expect(lines[0]).toMatch(/^\[supervisor\] character \(pid 100\) exited unexpectedly with signal SIGKILL: restarting in 10 ms/);
    await until(() => lines.some((l) => l.includes('character is back')));
    expect(character.starts).toBe(1);
    supervisor.stop();
  });

  it('when restarts keep failing, then the wait doubles and after maxFailures within the window it gives up', async () => {
    const lines: string[] = [];
    const orchestrator = new FakeService({ name: 'orchestrator' });
    orchestrator.failStarts = 10;
    const supervisor = supervise([orchestrator], lines);
    orchestrator.crash({ code: 1, signal: null });
    const giveUp = await supervisor.gaveUp;
    expect(giveUp).toEqual({ service: 'orchestrator', failures: 3, reason: 'code 1' });
    expect(lines.filter((l) => l.includes('restarting in')).map((l) => /restarting in (\d+) ms/.exec(l)![1])).toEqual(['10', '20']);
    expect(lines.at(-1)).toMatch(/3 failures within 10 s, giving up on the stack/);
    supervisor.stop();
  });

  it('when a restart dies before it is ready, then the report is one complete line: never a colon introducing nothing', async () => {
    const lines: string[] = [];
    const gateway = new FakeService({ name: 'gateway' });
    gateway.failStarts = 2;
    gateway.failures = [
      'gateway exited with code 1 before it was ready (it printed nothing)',
      'gateway exited with code 1 before it was ready:\n{"level":"info","msg":"starting"}\nfailed to start: REDIS_URL: Redis refused the connection\n',
    ];
    const supervisor = supervise([gateway], lines, { maxFailures: 10 });
    gateway.crash({ code: 1, signal: null });
    await until(() => lines.some((l) => l.includes('gateway is back')));
    const failed = lines.filter((l) => l.includes('restart failed'));
    expect(failed).toEqual([
      '[supervisor] gateway restart failed: gateway exited with code 1 before it was ready (it printed nothing)',
      '[supervisor] gateway restart failed: gateway exited with code 1 before it was ready; it last printed: failed to start: REDIS_URL: Redis refused the connection',
    ]);
    supervisor.stop();
  });

  it('when the stack is stopping, then a pending restart is cancelled and exits are ignored', async () => {
    const lines: string[] = [];
    const gateway = new FakeService({ name: 'gateway' });
    const supervisor = supervise([gateway], lines, { initialBackoffMs: 30 });
    gateway.crash();
    supervisor.stop();
    await new Promise((r) => setTimeout(r, 60));
    gateway.crash();
    expect(gateway.starts).toBe(0);
    expect(lines).toHaveLength(1);
  });
});
