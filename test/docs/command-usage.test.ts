import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@anime/stack';

// README (Build and start) and CONTRACT (Commands): each command prints --help and exits non-zero
// on failure. A mistyped flag is a failure: it must not run the command (migrations, a seed) anyway.
// DATABASE_URL points at a port nothing listens on, so a command that reached for it would exit 1.

const NOWHERE = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere', LIBRARY_DIR: '/nonexistent/library' };
const COMMANDS = { 'db:migrate': 'packages/db/dist/migrate.js', 'db:seed': 'services/character/dist/seed-demo.js' } as const;

function run(program: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, program), ...args], { env: { PATH: process.env.PATH, ...NOWHERE }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.each(Object.entries(COMMANDS))('pnpm %s', (name, program) => {
  it('when asked for help with --help or -h, then it prints its usage and exits 0 without touching the database', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await run(program, [flag]);
      expect({ flag, code: result.code, usage: result.stdout.startsWith(`usage: pnpm ${name}`) }).toEqual({ flag, code: 0, usage: true });
    }
  });

  it('when given an unknown option or a stray argument, then it exits 2 naming it, with the usage, and does nothing', async () => {
    for (const args of [['--bogus'], ['--dry-run'], ['now']]) {
      const result = await run(program, args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr.split('\n')[0]).toMatch(new RegExp(`^${name}: .*${args[0].replace(/^-+/, '')}`));
      expect(result.stderr).toContain(`usage: pnpm ${name}`);
      expect(result.stdout).toBe('');
    }
  });
});

// CONTRACT (Processes and configuration): a bad value stops the process at start with a message
// naming the variable, never its value (a DATABASE_URL may hold a password).
describe('a DATABASE_URL that is not a PostgreSQL URL', () => {
  const PROGRAMS_READING_IT: [string, string, string[]][] = [
    ['db:migrate', COMMANDS['db:migrate'], []],
    ['db:seed', COMMANDS['db:seed'], []],
    ['character:import-legacy', 'services/character/dist/import-legacy.js', ['--from', 'postgresql://postgres@127.0.0.1:1/legacy', '--dry-run']],
    ['apikey:list', 'packages/api-keys/dist/apikey-list.js', []],
  ];

  it.each(PROGRAMS_READING_IT)('when pnpm %s starts with one, then it exits 2 naming DATABASE_URL, never its value', async (name, program, args) => {
    for (const value of ['not a url s3cret', 'mysql://user:s3cret@127.0.0.1:1/db']) {
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [path.join(REPO_ROOT, program), ...args], { env: { PATH: process.env.PATH, DATABASE_URL: value, LIBRARY_DIR: '/nonexistent/library' }, timeout: 30_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      });
      expect({ value, code: result.code, firstLine: result.stderr.split('\n')[0] }).toEqual({ value, code: 2, firstLine: expect.stringMatching(new RegExp(`^${name}: DATABASE_URL: `)) });
      expect(result.stderr + result.stdout).not.toContain('s3cret');
    }
  });
});

// CONTRACT (Commands): `pnpm test` prints --help too. It ran every step (services, type-check,
// build, compose, k8s) and only then handed --help to jest, minutes later.
describe('pnpm test', () => {
  // `pnpm test -- --help` (the npm habit) hands the script `--` first: it ran every step too.
  it('when asked for help with --help or -h (after a `--` too), then it prints its usage and exits 0 without running a step', async () => {
    for (const flag of [['--help'], ['-h'], ['--', '--help'], ['--', '-h']]) {
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile('bash', [path.join(REPO_ROOT, 'scripts', 'test.sh'), ...flag], { env: { PATH: process.env.PATH, ...NOWHERE }, timeout: 10_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      });
      expect({ flag, code: result.code, usage: result.stdout.startsWith('usage: pnpm test'), steps: /\[(test|services)\]/.test(result.stdout + result.stderr) }).toEqual({ flag, code: 0, usage: true, steps: false });
    }
  });
});
