import { listKeys, type ListedKey } from '../list-keys';
import { parseArgs } from 'node:util';
import { parsedOrUsage, runCli } from './run-cli';

const USAGE = `usage: pnpm apikey:list [--json]

Lists the API keys in the database in DATABASE_URL: name, prefix, scopes, projects, expiry,
revocation and last use. The keys themselves are not stored and cannot be shown.

  --json   one JSON array instead of a table`;

const day = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

function table(keys: ListedKey[]): string {
  const rows = [
    ['NAME', 'PREFIX', 'SCOPES', 'PROJECTS', 'EXPIRES', 'REVOKED', 'LAST USED'],
    ...keys.map((k) => [k.name, k.prefix, k.scopes.join(','), k.projects?.join(',') ?? '*', day(k.expiresAt), day(k.revokedAt), day(k.lastUsedAt)]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

runCli(
  'apikey:list',
  USAGE,
  (argv) => parsedOrUsage(() => parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true })).values,
  async (db, { json }) => {
    const keys = await listKeys(db);
    if (json) console.log(JSON.stringify(keys, null, 2));
    else console.log(keys.length ? table(keys) : 'no API keys (create one with pnpm apikey:create)');
  },
);
