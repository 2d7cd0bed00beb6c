import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@anime/stack';

const run = promisify(execFile);

/** Mints an API key the way an operator does, `pnpm apikey:create …`, and returns it (the last line printed). */
export async function mintKeyWithCli(databaseUrl: string, args: { name: string; scopes: string; projects?: string; expires?: string }): Promise<string> {
  const argv = ['-s', 'apikey:create', '--name', args.name, '--scopes', args.scopes];
  if (args.projects) argv.push('--projects', args.projects);
  if (args.expires) argv.push('--expires', args.expires);
  const { stdout } = await run('pnpm', argv, { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } });
  return stdout.trim().split('\n').at(-1)!.trim();
}

export async function revokeKeyWithCli(databaseUrl: string, name: string): Promise<void> {
  await run('pnpm', ['-s', 'apikey:revoke', name], { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } });
}
