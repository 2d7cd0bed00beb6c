import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, databaseUrlProblem, migrate, pendingMigrations } from '@anime/db';
import { importLegacy } from '../legacy/import-legacy';
import { formatImportReport } from '../legacy/import-report';
import { consoleLog } from './console-log';

const USAGE = `usage: pnpm character:import-legacy --from <postgres-url> [--images-root DIR] [--dry-run] [--json] [--help]

Imports the original system's characters (tables character_definitions, character_versions,
character_attributes, character_references) into this system's database. Safe to run again:
characters already imported (by legacy id) are skipped, so a second run creates nothing.

  --from URL          the legacy PostgreSQL database (only read)
  --images-root DIR   what relative legacy image paths are relative to (default: current directory)
  --dry-run           check and report everything, write nothing
  --json              print the report as JSON instead of the summary
  --help              this text

Environment: DATABASE_URL (the database to import into, migrated first as pnpm db:migrate would;
with --dry-run only checked), LIBRARY_DIR (reference images are copied to LIBRARY_DIR/references/<character>/).
Exit status: 0 done, 1 the import or a character failed, 2 bad usage.`;

class UsageError extends Error {}

function options() {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      'images-root': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  if (!values.from) throw new UsageError('--from <postgres-url> is required');
  if (!/^postgres(ql)?:\/\//.test(values.from)) throw new UsageError('--from must be a postgres:// or postgresql:// URL');
  const databaseUrl = process.env.DATABASE_URL;
  const libraryDir = process.env.LIBRARY_DIR;
  if (!databaseUrl) throw new UsageError('DATABASE_URL is not set (the database to import into)');
  const problem = databaseUrlProblem(databaseUrl);
  if (problem) throw new UsageError(problem);
  if (!libraryDir) throw new UsageError('LIBRARY_DIR is not set (where reference images are copied)');
  // pnpm runs scripts from the workspace root; relative paths mean the caller's directory.
  const callerDir = process.env.INIT_CWD ?? process.cwd();
  return {
    fromUrl: values.from,
    databaseUrl,
    libraryDir: path.resolve(libraryDir),
    imagesRoot: path.resolve(callerDir, values['images-root'] ?? '.'),
    dryRun: values['dry-run'],
    json: values.json,
  };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = options();
  } catch (error) {
    console.error(`character:import-legacy: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!parsed) {
    console.log(USAGE);
    return 0;
  }
  await prepareTarget(parsed.databaseUrl, parsed.dryRun);
  const targetDb = createDb(parsed.databaseUrl, { max: 2 });
  try {
    const report = await importLegacy({ ...parsed, targetDb, log: consoleLog });
    console.log(parsed.json ? JSON.stringify(report, null, 2) : formatImportReport(report));
    return report.failed ? 1 : 0;
  } finally {
    await targetDb.$disconnect();
  }
}

/**
 * The target's tables must exist before the first character is read: an unmigrated database once
 * failed every character with Prisma's "table does not exist". A real run migrates it (as
 * `pnpm start` and `pnpm db:seed` do); a dry run writes nothing, so it only says what is missing.
 */
async function prepareTarget(databaseUrl: string, dryRun: boolean): Promise<void> {
  if (!dryRun) {
    const { applied } = await migrate(databaseUrl);
    if (applied.length) consoleLog.info(`applied ${applied.length} migration(s) to the target database`);
    return;
  }
  const pending = await pendingMigrations(databaseUrl);
  if (pending.length) throw new Error(`the target database (DATABASE_URL) lacks ${pending.length} migration(s), e.g. ${pending[0].name}: run pnpm db:migrate, or import without --dry-run`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`character:import-legacy failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
