import path from 'node:path';
import { parseArgs } from 'node:util';
import { databaseUrlProblem } from '@anime/db';
import { formatImportReport } from '../legacy/import-report';
import { seedDemo } from '../legacy/seed-demo';
import { consoleLog } from './console-log';

const USAGE = `usage: pnpm db:seed

Creates and migrates the database in DATABASE_URL if needed, then seeds the demo character
(Kai Nakamura) by importing the legacy fixture (services/character/fixtures/legacy) through the
legacy importer. Reference images go to LIBRARY_DIR/references/. Running it again creates nothing.`;

async function main(): Promise<number> {
  let help: boolean | undefined;
  try {
    ({ values: { help } } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    console.error(`db:seed: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (help) {
    console.log(USAGE);
    return 0;
  }
  const databaseUrl = process.env.DATABASE_URL;
  const libraryDir = process.env.LIBRARY_DIR;
  const problem = databaseUrlProblem(databaseUrl) ?? (libraryDir ? null : 'LIBRARY_DIR is not set');
  if (problem || !databaseUrl || !libraryDir) {
    console.error(`db:seed: ${problem}\n\n${USAGE}`);
    return 2;
  }
  const report = await seedDemo({ databaseUrl, libraryDir: path.resolve(libraryDir), log: consoleLog });
  console.log(formatImportReport(report));
  return report.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`db:seed failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
