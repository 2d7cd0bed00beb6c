import { ensureDatabase, migrate } from '../migrate';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('usage: pnpm db:migrate\n\nCreates the database in DATABASE_URL if needed and applies prisma/migrations.');
    return;
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  if (await ensureDatabase(url)) console.log('created database');
  const result = await migrate(url);
  for (const name of result.applied) console.log(`applied ${name}`);
  console.log(`${result.applied.length} applied, ${result.alreadyApplied.length} already up to date`);
}

main().catch((error) => {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exit(1);
});
