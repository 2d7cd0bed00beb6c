import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface ServiceSpec {
  name: string;
  entry: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** A line of output that means the process is ready. */
  readyPattern: RegExp;
}

/** One service as a child process of its own, restartable, with its output prefixed by its name. */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  readonly output: string[] = [];

  constructor(
    readonly spec: ServiceSpec,
    private readonly echo: (line: string) => void = () => undefined,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    // `node --import tsx` rather than the tsx binary: the binary runs the script in a grandchild
    // process, which a SIGKILL (crash tests) would leave running.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, this.spec.entry), ...(this.spec.args ?? [])], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`${this.spec.name} not ready after ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      const onLine = (line: string) => {
        this.output.push(line);
        if (this.output.length > 2000) this.output.shift();
        this.echo(`[${this.spec.name}] ${line}`);
        if (!ready && this.spec.readyPattern.test(line)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      for (const stream of [child.stdout!, child.stderr!]) {
        let buffer = '';
        stream.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          lines.forEach(onLine);
        });
      }
      child.once('exit', (code) => {
        if (!ready) {
          clearTimeout(timer);
          reject(new Error(`${this.spec.name} exited with ${code} before it was ready:\n${this.tail()}`));
        }
      });
    });
  }

  /** SIGTERM (graceful) or SIGKILL (crash); resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 25_000): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
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
