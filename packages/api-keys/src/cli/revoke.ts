import { revokeKey } from '../revoke-key';
import { runCli, UsageError } from './run-cli';

const USAGE = `usage: pnpm apikey:revoke <name>

Revokes the live API key of that name in the database in DATABASE_URL: the next request with it is
answered 401. The row stays (who created what remains answerable) and the name is free again.`;

runCli('apikey:revoke', USAGE, async (db, argv) => {
  const names = argv.filter((a) => !a.startsWith('-'));
  if (names.length !== 1 || argv.length !== 1) throw new UsageError('give exactly one key name');
  const revoked = await revokeKey(db, names[0]);
  console.log(`revoked API key "${revoked.name}"`);
});
