import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, PROGRAMS } from '@anime/stack';

// `pnpm start` (dist/start.js) run as a process: a port clash is one line naming the port and the
// variable to change, and exit 1, never a stack trace; --help documents every port variable.

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);

async function start(env: Record<string, string>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, PROGRAMS.start.compiled), ...args], {
      cwd: ROOT,
      env: { ...process.env, STACK_RUN_FROM: 'dist', ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

async function ports(): Promise<Record<string, string>> {
  const names = ['PORT', 'CHARACTER_PORT', 'ORCHESTRATOR_PORT', 'FILE_ORGANIZER_PORT', 'SIMULATOR_PORT'];
  return Object.fromEntries(await Promise.all(names.map(async (name) => [name, String(await freePort())])));
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+[(:]\d+/m);

describe('pnpm start: usability', () => {
  it.each(['SIMULATOR_PORT', 'PORT', 'ORCHESTRATOR_PORT'])('when %s is taken, then one line names the port and the variable, and it exits 1 having started nothing', async (variable) => {
    const env = await ports();
    const holder = await listen(Number(env[variable]));
    try {
      const result = await start({ ...env, COMFYUI_URLS: '' });
      expect(result.code).toBe(1);
      const lines = result.stderr.split('\n').filter((line) => line.trim() && !line.startsWith('warning: '));
      expect(lines).toEqual([`start failed: port ${env[variable]} (${variable}) is already in use: stop what listens there or set ${variable} to a free port`]);
      noStackTrace(result.stderr + result.stdout);
      expect(result.stdout).not.toMatch(/applying migrations/);
    } finally {
      holder.close();
    }
  });

  it('when --help is asked for, then it names every port variable, SIMULATOR_PORT included, and exits 0', async () => {
    const result = await start({}, ['--help']);
    expect(result.code).toBe(0);
    for (const variable of ['PORT', 'CHARACTER_PORT', 'ORCHESTRATOR_PORT', 'FILE_ORGANIZER_PORT', 'SIMULATOR_PORT', 'COMFYUI_URLS']) expect(result.stdout).toContain(variable);
  });

  it('when given an unknown option or a stray argument, then it exits 2 naming it, with the usage, and starts nothing (no migration)', async () => {
    for (const args of [['--bogus'], ['now']]) {
      const result = await start({ ...(await ports()), DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' }, args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr.split('\n')[0]).toMatch(new RegExp(`^start: .*${args[0].replace(/^-+/, '')}`));
      expect(result.stderr).toContain('usage: pnpm start');
      expect(result.stdout).not.toMatch(/applying migrations/);
    }
  });

  it('when SIMULATOR_PORT is read in the README, then the variables table documents it', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/^\| `SIMULATOR_PORT` \| 8188 \|.*COMFYUI_URLS/m);
  });
});
