import { InvalidArgumentError, type Command } from 'commander';
import { MAX_PAGE_LIMIT } from '@anime/contracts';

// `--limit` and `--cursor` of the commands that list a paged collection of the API (jobs,
// characters): a value the gateway would refuse is a usage error (exit 2) before any request.

/** A list route's query schema (from @anime/contracts): its `limit` and `cursor` fields are the rules the options are checked by. */
interface ListQuery {
  shape: {
    limit: { safeParse(value: unknown): { success: true; data: number } | { success: false } };
    cursor: { safeParse(value: unknown): { success: boolean } };
  };
}

const pageLimit = (query: ListQuery) => (value: string): number => {
  const parsed = query.shape.limit.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`--limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`);
  return parsed.data;
};

const pageCursor = (query: ListQuery) => (value: string): string => {
  if (!query.shape.cursor.safeParse(value).success) throw new InvalidArgumentError('--cursor must be an id (a UUID): the one the previous page ended with');
  return value;
};

/**
 * Adds `--limit <n>` (1 to MAX_PAGE_LIMIT, `defaultLimit` when absent) and `--cursor <id>`, both
 * checked by the `query` schema the route parses with, to a listing command.
 */
export function withPaging(command: Command, noun: string, defaultLimit: number, query: ListQuery): Command {
  return command
    .option('--limit <n>', `how many ${noun}, 1 to ${MAX_PAGE_LIMIT}`, pageLimit(query), defaultLimit)
    .option('--cursor <id>', 'the next page: the cursor the previous page ended with (its hint, or nextCursor with --json)', pageCursor(query));
}

/**
 * When the page is not the last, says on stderr (stdout stays the table alone) how to get the
 * next one: its `--cursor`, with the same filters when `filters` says there are any to repeat.
 */
export function hintNextPage(noun: string, limit: number, nextCursor: string | null | undefined, options: { filters: boolean }): void {
  if (!nextCursor) return;
  const same = options.filters ? ' (same filters)' : '';
  console.error(`more ${noun} past --limit ${limit}: add --cursor ${nextCursor}${same} for the next page, or raise --limit (at most ${MAX_PAGE_LIMIT})`);
}
