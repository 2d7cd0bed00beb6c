import { createDb, databaseUrlProblem, type Db } from '@anime/db';
import { ApiKeyError } from '../key-errors';

/** A mistake in the command line: printed with the usage, exit 2. */
export class UsageError extends Error {}

/**
 * Runs one API-key command: `--help` prints the usage; the command line is parsed and checked
 * first (`parse`: a mistake in it is a UsageError), then DATABASE_URL comes from the environment;
 * a refusal (taken name, unknown key, …) or a usage mistake is one clear line and a non-zero exit,
 * never a stack trace. Nothing here ever logs a key except the one line `create` prints.
 */
export function runCli<Args>(name: string, usage: string, parse: (argv: string[]) => Args, run: (db: Db, args: Args) => Promise<void>): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    return;
  }
  const report = (error: Error): number => {
    if (error instanceof UsageError) console.error(`${name}: ${error.message}\n\n${usage}`);
    else if (error instanceof ApiKeyError) console.error(`${name}: ${error.message}`);
    else console.error(`${name} failed: ${reason(error)}`);
    return error instanceof UsageError ? 2 : 1;
  };
  let args: Args;
  try {
    args = parse(argv);
  } catch (error) {
    process.exit(report(error as Error));
  }
  const databaseUrl = process.env.DATABASE_URL;
  const problem = databaseUrlProblem(databaseUrl);
  if (problem || !databaseUrl) {
    console.error(`${name}: ${problem}\n\n${usage}`);
    process.exit(2);
  }
  const db = createDb(databaseUrl, { max: 1 });
  run(db, args)
    .then(
      () => 0,
      (error: Error) => report(error),
    )
    .then(async (code) => {
      await db.$disconnect().catch(() => undefined);
      process.exit(code);
    });
}

/** What parsing the command line throws (node:util parseArgs' unknown option, missing value, …) is a usage error. */
export function parsedOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * A flag's value checked by the rule that owns it (mintKey's, which refuses with ApiKeyError):
 * a value it refuses is a mistake in the command line, said naming the flag.
 */
export function checkedFlag<T>(flag: string, value: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof ApiKeyError) throw new UsageError(`${flag} ${JSON.stringify(value)}: ${error.message}`);
    throw error;
  }
}

/**
 * Prisma's message for a failed query quotes the calling code (`Invalid \`db.apiKey.findMany()\`
 * invocation in <file>:<line>` and a source excerpt) before the reason on its last line: only that
 * reason is printed ("Can't reach database server at …").
 */
function reason(error: Error): string {
  const lines = error.message.trim().split('\n');
  return /^Invalid `.+` invocation/m.test(error.message) ? lines[lines.length - 1].trim() : lines.join(' ');
}

/** `a, b,c` → ['a', 'b', 'c']; undefined stays undefined. */
export function commaList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * A comma list given on the command line: `--scopes ,` (or `" , "`) names nothing, which is a
 * mistake in the command line (exit 2, naming the flag), not a refusal of what it names.
 */
export function nonEmptyCommaList(flag: string, value: string | undefined, expected: string): string[] | undefined {
  const list = commaList(value);
  if (list && !list.length) throw new UsageError(`${flag} "${value}" names nothing: give ${expected}`);
  return list;
}
