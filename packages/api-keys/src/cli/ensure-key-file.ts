import path from 'node:path';
import { parseArgs } from 'node:util';
import { API_SCOPES } from '@anime/contracts';
import { DEFAULT_KEY_FILE, readKeyFile, writeKeyFile } from '../key-file';
import { checkKeyName, checkScopes, mintKey } from '../mint-key';
import { revokeKey } from '../revoke-key';
import { verifyKey } from '../verify-key';
import { ApiKeyError } from '../key-errors';
import { checkedFlag, nonEmptyCommaList, parsedOrUsage, runCli, UsageError } from './run-cli';

const USAGE = `usage: apikey-ensure-file --name <name> --scopes <comma list> [--file <path>]

Used by scripts/setup.sh. Keeps a working API key in a file only you can read (mode 0600 in a
0700 directory; default ${DEFAULT_KEY_FILE}): the key already there is kept while it verifies
against the database in DATABASE_URL; otherwise the live key of that name is revoked and a new one
is minted into the file. Prints the file's path, never the key.`;

runCli(
  'apikey-ensure-file',
  USAGE,
  (argv) => {
    const { values } = parsedOrUsage(() => parseArgs({ args: argv, options: { name: { type: 'string' }, scopes: { type: 'string' }, file: { type: 'string' } }, strict: true }));
    if (!values.name || !values.scopes) throw new UsageError('--name and --scopes are required');
    const scopes = nonEmptyCommaList('--scopes', values.scopes, `one or more of ${API_SCOPES.join(', ')}, comma-separated`)!;
    return {
      name: checkedFlag('--name', values.name, () => checkKeyName(values.name!)),
      scopes: checkedFlag('--scopes', values.scopes, () => checkScopes(scopes)),
      file: path.resolve(values.file ?? DEFAULT_KEY_FILE),
    };
  },
  async (db, { name, scopes, file }) => {
    const existing = await readKeyFile(file);
    const verified = existing ? await verifyKey(db, existing) : null;
    if (verified?.ok && verified.key.name === name) {
      await writeKeyFile(file, existing!); // re-asserts the modes
      console.log(`API key "${name}" kept in ${file}`);
      return;
    }
    await revokeKey(db, name).catch((error) => {
      if (!(error instanceof ApiKeyError && error.code === 'not_found')) throw error;
    });
    const minted = await mintKey(db, { name, scopes });
    await writeKeyFile(file, minted.key);
    console.log(`API key "${name}" (scopes ${minted.scopes.join(', ')}) written to ${file}`);
  },
);
