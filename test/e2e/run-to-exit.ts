import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROGRAMS, REPO_ROOT, RUNTIME_ENV, type ProgramName } from '@anime/stack';

export interface ProgramEnd {
  /** The exit code, or null when it was killed (it did not end within the time given). */
  code: number | null;
  /** stdout and stderr as they came. */
  output: string;
  ms: number;
}

/** Runs a compiled program on this environment plus `env` until it exits, or kills it after `timeoutMs`. */
export function runToExit(program: ProgramName, env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<ProgramEnd> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, PROGRAMS[program].compiled)], { cwd: REPO_ROOT, env: { ...RUNTIME_ENV, ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    }),
  );
}
