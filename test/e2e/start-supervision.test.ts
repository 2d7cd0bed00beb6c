import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, PROGRAMS, REPO_ROOT } from '@anime/stack';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';

/** The processes whose parent is `ppid`, with their command lines (Linux /proc). */
async function children(ppid: number): Promise<{ pid: number; command: string }[]> {
  const found: { pid: number; command: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command name (field 2) may hold spaces, so split after ')'.
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue;
      found.push({ pid: Number(entry), command: (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readyz(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
}

describe('pnpm start (dist/start.js) supervising the stack', () => {
  let database: TestDatabase;
  let libraryDir: string;
  let outputDir: string;
  let runner: ChildProcess;
  const queuePrefix = uniqueQueuePrefix('start');
  let stdout = '';
  let stderr = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    database = await createTestDatabase('start');
    libraryDir = await mkdtemp(path.join(tmpdir(), 'start-library-'));
    outputDir = await mkdtemp(path.join(tmpdir(), 'start-comfy-out-'));
    for (const variable of ['PORT', 'CHARACTER_PORT', 'ORCHESTRATOR_PORT', 'FILE_ORGANIZER_PORT', 'SIMULATOR_PORT']) ports[variable] = await freePort();
    runner = spawn(process.execPath, [path.join(REPO_ROOT, PROGRAMS.start.compiled)], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: queuePrefix,
        LIBRARY_DIR: libraryDir,
        SIMULATOR_OUTPUT_DIR: outputDir,
        SIMULATOR_STEP_MS: '5',
        COMFYUI_URLS: '',
        STACK_RUN_FROM: 'dist',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runner.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    runner.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise((resolve) => runner.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => stdout.includes('stack ready'), `the stack to be ready:\n${stdout.slice(-2000)}\n${stderr}`, 90_000, 100);
  }, 120_000);

  afterAll(async () => {
    if (runner && runner.exitCode === null && runner.signalCode === null) {
      runner.kill('SIGTERM');
      await exited;
    }
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
    await rm(outputDir, { recursive: true, force: true });
  });

  it('when started, then it migrated once and every service answers /readyz on the ports given', async () => {
    expect(stdout).toMatch(/applying migrations to .* \(running dist\)/);
    expect(stdout).toMatch(/0 applied, \d+ already up to date/);
    for (const variable of ['PORT', 'CHARACTER_PORT', 'ORCHESTRATOR_PORT', 'FILE_ORGANIZER_PORT']) expect(await readyz(ports[variable])).toBe(true);
    const commands = (await children(runner.pid!)).map((c) => c.command);
    for (const name of ['gateway', 'character', 'orchestrator', 'file-organizer', 'simulator'] as const) {
      expect(commands.some((c) => c.includes(PROGRAMS[name].compiled))).toBe(true);
    }
    expect(commands.some((c) => c.includes('tsx'))).toBe(false);
  });

  it('when the character service is SIGKILLed, then the supervisor reports it and brings it back', async () => {
    const character = (await children(runner.pid!)).find((c) => c.command.includes(PROGRAMS.character.compiled))!;
    process.kill(character.pid, 'SIGKILL');
    await waitFor(() => stderr.includes(`[supervisor] character (pid ${character.pid}) exited unexpectedly with signal SIGKILL`), `the supervisor's report:\n${stderr}`, 10_000);
    await waitFor(() => stderr.includes('[supervisor] character is back'), `the restart:\n${stderr}`, 60_000, 100);
    await waitFor(() => readyz(ports.CHARACTER_PORT), 'the new character service to answer /readyz', 10_000);
    const again = (await children(runner.pid!)).find((c) => c.command.includes(PROGRAMS.character.compiled))!;
    expect(again.pid).not.toBe(character.pid);
  }, 90_000);

  it('when the runner gets SIGTERM, then it stops every service and exits 0', async () => {
    const pids = (await children(runner.pid!)).map((c) => c.pid);
    expect(pids.length).toBe(5);
    runner.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);
});
