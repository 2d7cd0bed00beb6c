/**
 * DATABASE_URL as the command-line programs (db:migrate, db:seed, character:import-legacy,
 * apikey:*) read it, checked as the services' configuration checks it: set, and a postgres:// or
 * postgresql:// URL. The problem names the variable, never its value (which may hold a password).
 */
export function databaseUrlProblem(value: string | undefined): string | null {
  if (!value) return 'DATABASE_URL is not set';
  try {
    const { protocol } = new URL(value);
    if (protocol === 'postgres:' || protocol === 'postgresql:') return null;
  } catch {
    // not a URL: said below
  }
  return 'DATABASE_URL: must be a URL starting with postgres:// or postgresql://';
}
