import { UsageError } from './run-cli';

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** JavaScript rolls 2027-02-31 over to March 3rd; a typo must be refused, not moved. */
function isCalendarDay(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** `--expires`: an ISO 8601 date or date-time in the future (a date alone means its midnight UTC). */
export function parseExpiry(value: string | undefined, now = new Date()): Date | null {
  if (value === undefined) return null;
  const date = new Date(value);
  if (!ISO.test(value) || Number.isNaN(date.getTime()) || !isCalendarDay(value)) throw new UsageError(`--expires "${value}" is not an ISO date (e.g. 2027-01-31 or 2027-01-31T12:00:00Z)`);
  if (date <= now) throw new UsageError(`--expires ${value} is in the past`);
  return date;
}
