import { parseArgs } from 'node:util';
import { revokeKey } from '../revoke-key';
import { parsedOrUsage, runCli, UsageError } from './run-cli';

const USAGE = `usage: pnpm apikey:revoke <name>

Revokes the live API key of that name in the database in DATABASE_URL: the next request with it is
answered 401. The row stays (who created what remains answerable) and the name is free again.`;

runCli(
  'apikey:revoke',
  USAGE,
  (argv) => {
    const { positionals } = parsedOrUsage(() => parseArgs({ args: argv, options: {}, strict: true, allowPositionals: true }));
    if (positionals.length !== 1) throw new UsageError('give exactly one key name');
    return positionals[0];
  },
  async (db, name) => {
    const revoked = await revokeKey(db, name);
    console.log(`revoked API key "${revoked.name}"`);
  },
);
