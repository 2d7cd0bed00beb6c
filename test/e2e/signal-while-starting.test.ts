import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, PROGRAMS, REPO_ROOT, RUNTIME_ENV, type ProgramName } from '@anime/stack';
import { TEST_REDIS_URL, uniqueQueuePrefix } from '@anime/testing';

// Each service, as a process, gets SIGTERM while its start waits for a PostgreSQL that does not
// answer: it exits 0 at once, as its stop would. Killed by the signal's default action instead (no
// handler yet, installShutdown comes after the start), it would end here too, but not as PID 1, a
// container's `node …/main.js`: the kernel ignores a signal PID 1 has no handler for, so the pod
// waited out its grace period (30-60 s) to be killed.

const SERVICES: ProgramName[] = ['gateway', 'character', 'orchestrator', 'file-organizer'];

/** Runs the program until its output matches `waitingFor`, sends SIGTERM, and resolves how it ended. */
function signalWhileStarting(program: ProgramName, env: NodeJS.ProcessEnv, waitingFor: RegExp): Promise<{ code: number | null; signal: NodeJS.Signals | null; msAfterSignal: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, PROGRAMS[program].compiled)], { cwd: REPO_ROOT, env: { ...RUNTIME_ENV, ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let signaledAt: number | null = null;
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString();
    if (signaledAt === null && waitingFor.test(output)) {
      signaledAt = Date.now();
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, msAfterSignal: signaledAt === null ? null : Date.now() - signaledAt, output });
    }),
  );
}

describe('a service given SIGTERM while its start waits for PostgreSQL', () => {
  let libraryDir: string;
  const queuePrefix = uniqueQueuePrefix('signal-while-starting');

  beforeAll(async () => {
    libraryDir = await mkdtemp(path.join(tmpdir(), 'signal-while-starting-library-'));
  });

  afterAll(async () => {
    await rm(libraryDir, { recursive: true, force: true });
  });

  it('then each service exits 0 within seconds, as its stop does', async () => {
    // Nothing listens on the port: every try is refused, and the start waits.
    const databaseUrl = `postgresql://postgres@127.0.0.1:${await freePort()}/nowhere`;
    const env = { DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, COMFYUI_URLS: 'http://127.0.0.1:9', PORT: '0', CHARACTER_PORT: '0', ORCHESTRATOR_PORT: '0', FILE_ORGANIZER_PORT: '0', LOG_LEVEL: 'info' };
    const ends = await Promise.all(SERVICES.map((program) => signalWhileStarting(program, env, /database not answering at start/)));
    ends.forEach((end, i) => {
      const what = `${SERVICES[i]}:\n${end.output}`;
      expect({ what, code: end.code, signal: end.signal, signaled: end.msAfterSignal !== null }).toEqual({ what, code: 0, signal: null, signaled: true });
      // About a second on a loaded 2-core machine (process.exit itself, four services starting at once).
      expect(end.msAfterSignal).toBeLessThan(10_000);
    });
  }, 60_000);
});
