import { parseArgs } from 'node:util';
import { API_SCOPES } from '@anime/contracts';
import { checkKeyName, checkProjects, checkScopes, mintKey } from '../mint-key';
import { parseExpiry } from './parse-expiry';
import { checkedFlag, nonEmptyCommaList, parsedOrUsage, runCli, UsageError } from './run-cli';

const USAGE = `usage: pnpm apikey:create --name <name> --scopes <comma list> [--projects <comma list>] [--expires <ISO date>]

Creates an API key in the database in DATABASE_URL and prints it, alone, on the last line. Only its
sha256 is stored: the key is shown this once and cannot be shown again.

  --name      a name for the key (unique among live keys), e.g. "render-farm"
  --scopes    ${API_SCOPES.join(', ')} (admin implies all)
  --projects  limit the key to these projects (default: every project)
  --expires   the key stops working at this date (ISO 8601, e.g. 2027-01-31 or 2027-01-31T12:00:00Z)

Use it as: Authorization: Bearer <key>`;

runCli(
  'apikey:create',
  USAGE,
  (argv) => {
    const { values } = parsedOrUsage(() =>
      parseArgs({ args: argv, options: { name: { type: 'string' }, scopes: { type: 'string' }, projects: { type: 'string' }, expires: { type: 'string' } }, strict: true }),
    );
    if (!values.name) throw new UsageError('--name is required');
    if (!values.scopes) throw new UsageError('--scopes is required');
    const scopes = nonEmptyCommaList('--scopes', values.scopes, `one or more of ${API_SCOPES.join(', ')}, comma-separated`)!;
    const projects = nonEmptyCommaList('--projects', values.projects, 'one or more project names, comma-separated (leave it out for every project)') ?? null;
    // mintKey's own rules, applied before the database is opened: a bad value is a mistake in the command line.
    return {
      name: checkedFlag('--name', values.name, () => checkKeyName(values.name!)),
      scopes: checkedFlag('--scopes', values.scopes, () => checkScopes(scopes)),
      projects: values.projects === undefined ? null : checkedFlag('--projects', values.projects, () => checkProjects(projects)),
      expiresAt: parseExpiry(values.expires),
    };
  },
  async (db, input) => {
    const minted = await mintKey(db, input);
    console.log(`created API key "${minted.name}" (${minted.prefix}…): scopes ${minted.scopes.join(', ')}; projects ${minted.projects?.join(', ') ?? 'all'}; expires ${minted.expiresAt?.toISOString() ?? 'never'}`);
    console.log('Store it now: it is shown only this once and cannot be shown again.');
    console.log(minted.key);
  },
);
