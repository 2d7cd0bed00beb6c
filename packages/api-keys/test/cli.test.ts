import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { findRepoRoot, PROGRAMS } from '@anime/stack';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb, type Db } from '@anime/db';
import { verifyKey } from '../src';

const REPO = findRepoRoot(__dirname);
let database: TestDatabase;
let db: Db;
let home: string;

beforeAll(async () => {
  database = await createTestDatabase('apikey-cli');
  db = createDb(database.url, { max: 2 });
  home = await mkdtemp(path.join(tmpdir(), 'apikey-cli-'));
});
afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await rm(home, { recursive: true, force: true });
});

type Program = 'apikey:create' | 'apikey:list' | 'apikey:revoke' | 'apikey:ensure-file';

/** Runs a compiled CLI as its own process, as `pnpm apikey:…` does. */
function cli(program: Program, args: string[], env: NodeJS.ProcessEnv = { DATABASE_URL: database.url }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO, PROGRAMS[program].compiled), ...args], { env: { PATH: process.env.PATH, HOME: home, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1)!;

describe('pnpm apikey:create / list / revoke', () => {
  it('when --help is asked, then each prints its usage and exits 0 (no database needed)', async () => {
    for (const program of ['apikey:create', 'apikey:list', 'apikey:revoke'] as const) {
      const { code, stdout } = await cli(program, ['--help'], {});
      expect(code).toBe(0);
      expect(stdout).toContain(`usage: pnpm ${program}`);
    }
  });

  it('when a key is created, then the key is printed alone on the last line, once, and works; the database holds only its sha256', async () => {
    const { code, stdout, stderr } = await cli('apikey:create', ['--name', 'render-farm', '--scopes', 'read,generate', '--projects', 'demo,trailer', '--expires', '2099-01-31']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const key = lastLine(stdout);
    expect(key).toMatch(/^ak_[A-Za-z0-9_-]{43}$/);
    expect(stdout).toMatch(/cannot be shown again/);
    expect(stdout.split(key).length).toBe(2);
    const verified = await verifyKey(db, key);
    expect(verified).toEqual({ ok: true, key: { id: expect.any(String), name: 'render-farm', scopes: ['read', 'generate'], projects: ['demo', 'trailer'] } });

    // No column of any row holds the key: a dump of the table shows only its hash and first characters.
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const dump = JSON.stringify((await client.query('SELECT * FROM api_keys')).rows);
      expect(dump).not.toContain(key);
      expect(dump).not.toContain(key.slice(0, 20));
      expect(dump).toContain(createHash('sha256').update(key).digest('hex'));
    } finally {
      await client.end();
    }
    // And list never shows it.
    const listed = await cli('apikey:list', ['--json']);
    expect(listed.stdout).not.toContain(key);
  });

  it('when keys are listed, then name, prefix, scopes, projects, expiry, revocation and last use are shown, as a table or JSON', async () => {
    await cli('apikey:create', ['--name', 'viewer', '--scopes', 'read']);
    const table = await cli('apikey:list', []);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+PREFIX\s+SCOPES\s+PROJECTS\s+EXPIRES\s+REVOKED\s+LAST USED$/m);
    expect(table.stdout).toMatch(/^viewer\s+ak_\S{7}\s+read\s+\*\s+-\s+-\s+-$/m);
    expect(table.stdout).toMatch(/^render-farm\s+ak_\S{7}\s+read,generate\s+demo,trailer\s+2099-01-31T00:00:00Z/m);
    const json = JSON.parse((await cli('apikey:list', ['--json'])).stdout);
    expect(json.find((k: { name: string }) => k.name === 'viewer')).toMatchObject({ name: 'viewer', prefix: expect.stringMatching(/^ak_/), scopes: ['read'], projects: null, expiresAt: null, revokedAt: null, lastUsedAt: null });
  });

  it('when a key is revoked by name, then it no longer verifies, the list shows it revoked and the name is free again', async () => {
    const key = lastLine((await cli('apikey:create', ['--name', 'temp', '--scopes', 'read'])).stdout);
    const revoked = await cli('apikey:revoke', ['temp']);
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining('revoked API key "temp"') });
    expect(await verifyKey(db, key)).toEqual({ ok: false, reason: 'revoked' });
    const json = JSON.parse((await cli('apikey:list', ['--json'])).stdout);
    expect(json.find((k: { name: string }) => k.name === 'temp').revokedAt).not.toBeNull();
    expect((await cli('apikey:create', ['--name', 'temp', '--scopes', 'read'])).code).toBe(0);
  });

  it('when the input is wrong, then the exit is 2 for a mistake in the command line and 1 for a refusal, with a clear message, and nothing is created', async () => {
    const before = await db.apiKey.count();
    // Exit 2 for a mistake in the command line (printed with the usage), 1 for a refusal of what it asks.
    const file = path.join(home, 'never-written', 'api-key');
    const cases: [Program, string[], number, RegExp][] = [
      // A value of a flag that mintKey's rules refuse is a mistake in the command line too, said naming the flag.
      ['apikey:create', ['--name', 'x', '--scopes', 'read,superuser'], 2, /^apikey:create: --scopes "read,superuser": unknown scope\(s\): superuser; scopes are read, generate/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read', '--projects', 'demo,bad project!'], 2, /^apikey:create: --projects "demo,bad project!": projects are /],
      ['apikey:ensure-file', ['--name', 'x', '--scopes', 'read,superuser', '--file', file], 2, /^apikey-ensure-file: --scopes "read,superuser": unknown scope\(s\): superuser/],
      ['apikey:ensure-file', ['--name', 'bad name!', '--scopes', 'read', '--file', file], 2, /^apikey-ensure-file: --name "bad name!": a key name is /],
      ['apikey:create', ['--name', 'viewer', '--scopes', 'read'], 1, /a live key named "viewer" exists/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read', '--expires', 'next week'], 2, /--expires "next week" is not an ISO date/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read', '--expires', '2001-01-01'], 2, /--expires 2001-01-01 is in the past/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read', '--expires', '2027-02-31'], 2, /--expires "2027-02-31" is not an ISO date/],
      ['apikey:create', ['--scopes', 'read'], 2, /--name is required/],
      ['apikey:create', ['--name', 'x'], 2, /--scopes is required/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read', '--bogus'], 2, /Unknown option '--bogus'/],
      ['apikey:create', ['--name', 'bad name!', '--scopes', 'read'], 2, /^apikey:create: --name "bad name!": a key name is 1-64 letters/],
      ['apikey:revoke', ['nobody'], 1, /no live key named "nobody"/],
      ['apikey:revoke', [], 2, /give exactly one key name/],
      ['apikey:revoke', ['viewer', 'temp'], 2, /give exactly one key name/],
      ['apikey:revoke', ['--bogus', 'viewer'], 2, /^apikey:revoke: Unknown option '--bogus'/],
      ['apikey:list', ['--jsn'], 2, /Unknown option '--jsn'/],
      ['apikey:list', ['viewer'], 2, /Unexpected argument 'viewer'/],
      // A comma list naming nothing is a mistake in the command line too: its first line names the flag.
      ['apikey:create', ['--name', 'x', '--scopes', ','], 2, /^apikey:create: --scopes "," names nothing: give one or more of read, generate/],
      ['apikey:create', ['--name', 'x', '--scopes', ' , '], 2, /^apikey:create: --scopes " , " names nothing/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read', '--projects', ','], 2, /^apikey:create: --projects "," names nothing/],
      ['apikey:ensure-file', ['--name', 'x', '--scopes', ',', '--file', file], 2, /^apikey-ensure-file: --scopes "," names nothing/],
    ];
    for (const [program, args, exitCode, message] of cases) {
      const { code, stdout, stderr } = await cli(program, args);
      expect({ args, code, stderr }).toEqual({ args, code: exitCode, stderr: expect.stringMatching(message) });
      expect(stdout).not.toMatch(/ak_/);
    }
    const noDatabase = await cli('apikey:list', [], {});
    expect(noDatabase).toMatchObject({ code: 2, stderr: expect.stringContaining('DATABASE_URL is not set') });
    // The command line is checked before DATABASE_URL is looked for: its mistake is the one said.
    for (const [program, args, message] of [
      ['apikey:create', ['--name', 'x', '--scopes', 'read', '--bogus'], /^apikey:create: Unknown option '--bogus'/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read,superuser'], /^apikey:create: --scopes "read,superuser": unknown scope/],
      ['apikey:revoke', ['--bogus', 'viewer'], /^apikey:revoke: Unknown option '--bogus'/],
      ['apikey:list', ['--jsn'], /^apikey:list: Unknown option '--jsn'/],
      ['apikey:ensure-file', ['--name', 'x', '--scopes', 'read', '--fil', file], /^apikey-ensure-file: Unknown option '--fil'/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read'], /^apikey:create: DATABASE_URL is not set/],
    ] as [Program, string[], RegExp][]) {
      const { code, stdout, stderr } = await cli(program, args, {});
      expect({ program, args, code, stderr }).toEqual({ program, args, code: 2, stderr: expect.stringMatching(message) });
      expect(stdout).toBe('');
    }
    // A database that cannot be reached, or does not exist: one line saying so, not Prisma's quote of the bundle's code.
    const unreachable = `postgresql://postgres@127.0.0.1:1/anime`;
    const missing = database.url.replace(/\/([^/?]+)(\?|$)/, '/$1_missing$2');
    for (const [program, args, url, message] of [
      ['apikey:list', [], unreachable, /^apikey:list failed: Can't reach database server at 127\.0\.0\.1:1$/],
      ['apikey:create', ['--name', 'x', '--scopes', 'read'], missing, /^apikey:create failed: Database `\w+_missing` does not exist/],
      ['apikey:revoke', ['viewer'], unreachable, /^apikey:revoke failed: Can't reach database server/],
    ] as [Program, string[], string, RegExp][]) {
      const { code, stdout, stderr } = await cli(program, args, { DATABASE_URL: url });
      expect({ program, code, lines: stderr.trimEnd().split('\n') }).toEqual({ program, code: 1, lines: [expect.stringMatching(message)] });
      expect(stdout).toBe('');
    }
    expect(await db.apiKey.count()).toBe(before);
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });
});

describe('the key file scripts/setup.sh keeps', () => {
  it('when none exists, then a key is minted into a 0600 file in a 0700 directory and only the path is printed; a second run keeps it; a revoked one is replaced', async () => {
    const file = path.join(home, '.config', 'anime', 'api-key');
    const first = await cli('apikey:ensure-file', ['--name', 'demo', '--scopes', 'read,generate,characters:write', '--file', file]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(file);
    expect(first.stdout).not.toMatch(/ak_/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    const { readFile } = await import('node:fs/promises');
    const key = (await readFile(file, 'utf8')).trim();
    expect(await verifyKey(db, key)).toMatchObject({ ok: true, key: { name: 'demo', scopes: ['read', 'generate', 'characters:write'] } });

    const again = await cli('apikey:ensure-file', ['--name', 'demo', '--scopes', 'read,generate,characters:write', '--file', file]);
    expect(again.stdout).toContain('kept');
    expect((await readFile(file, 'utf8')).trim()).toBe(key);

    await cli('apikey:revoke', ['demo']);
    const replaced = await cli('apikey:ensure-file', ['--name', 'demo', '--scopes', 'read,generate,characters:write', '--file', file]);
    expect(replaced.code).toBe(0);
    const fresh = (await readFile(file, 'utf8')).trim();
    expect(fresh).not.toBe(key);
    expect(await verifyKey(db, fresh)).toMatchObject({ ok: true });

    // A file holding a key that does not verify (another database's) is replaced, and the live "demo" revoked.
    await writeFile(file, 'ak_not-a-key-of-this-database\n');
    const rotated = await cli('apikey:ensure-file', ['--name', 'demo', '--scopes', 'read,generate,characters:write', '--file', file]);
    expect(rotated.code).toBe(0);
    expect(await verifyKey(db, fresh)).toEqual({ ok: false, reason: 'revoked' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
