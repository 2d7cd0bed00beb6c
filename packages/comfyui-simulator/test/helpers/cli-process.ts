import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'src', 'main.ts');

export interface CliProcess {
  child: ChildProcess;
  /** Resolves with the URL the simulator prints once it listens; rejects if it exits first. */
  url: Promise<string>;
  /** Resolves once the process has exited and its output is drained, with the exit code and everything printed. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Spawns the simulator CLI (src/main.ts through tsx) with extra environment variables. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const match = stdout.match(/comfyui-simulator listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    exited.then(({ code }) => reject(new Error(`exited with ${code}: ${stdout}${stderr}`)));
  });
  url.catch(() => undefined);
  return { child, url, exited };
}

/** Stops a started CLI with SIGTERM and returns its exit code. */
export async function stopCli(cli: CliProcess): Promise<number | null> {
  cli.child.kill('SIGTERM');
  return (await cli.exited).code;
}
