import { parseArgs } from 'node:util';
import { databaseUrlProblem } from '../database-url';
import { ensureDatabase, migrate } from '../migrate';

const USAGE = 'usage: pnpm db:migrate\n\nCreates the database in DATABASE_URL if needed and applies prisma/migrations.';

async function main(): Promise<void> {
  let help: boolean | undefined;
  try {
    ({ values: { help } } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    // A mistyped flag must not run the migrations it was meant to ask about.
    console.error(`db:migrate: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (help) {
    console.log(USAGE);
    return;
  }
  const url = process.env.DATABASE_URL;
  const problem = databaseUrlProblem(url);
  if (problem || !url) {
    console.error(`db:migrate: ${problem}\n\n${USAGE}`);
    process.exit(2);
  }
  if (await ensureDatabase(url)) console.log('created database');
  const result = await migrate(url);
  for (const name of result.applied) console.log(`applied ${name}`);
  console.log(`${result.applied.length} applied, ${result.alreadyApplied.length} already up to date`);
}

main().catch((error) => {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exit(1);
});
