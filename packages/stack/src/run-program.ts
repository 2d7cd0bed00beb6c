import { spawn } from 'node:child_process';
import type { ProgramName } from './entries';
import { programCommand, REPO_ROOT } from './service-process';

/** Runs a program (e.g. db:migrate) to its end with the given environment and its output shown; resolves to its exit code. */
export function runProgram(program: ProgramName, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...programCommand(program), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
