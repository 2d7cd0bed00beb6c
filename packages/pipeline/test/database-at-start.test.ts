import { createDb } from '@anime/db';
import type { Logger } from '@anime/logger';
import { ADMIN_URL } from '@anime/testing';
import { waitForDatabaseAtStart } from '../src/database-start-wait';

const log = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;

/** The start check's error for a database URL PostgreSQL refuses. */
async function refusalFor(url: URL): Promise<Error> {
  const db = createDb(url.toString(), { max: 1 });
  try {
    return await waitForDatabaseAtStart(db, log).then(
      () => {
        throw new Error('the start check passed');
      },
      (error: Error) => error,
    );
  } finally {
    await db.$disconnect();
  }
}

describe('PostgreSQL refusing a service at start', () => {
  it('when the database of DATABASE_URL does not exist, then the start fails naming DATABASE_URL and PostgreSQL\'s reason on one line', async () => {
    const url = new URL(ADMIN_URL);
    url.pathname = '/anime_start_check_missing_db';
    const refused = await refusalFor(url);
    expect(refused.message).toBe('DATABASE_URL: PostgreSQL refused the connection (database "anime_start_check_missing_db" does not exist; SQLSTATE 3D000)');
  });

  it('when the login of DATABASE_URL is refused, then the start fails naming DATABASE_URL and the reason, never the password', async () => {
    const url = new URL(ADMIN_URL);
    url.username = 'anime_start_check_no_such_role';
    url.password = 'not-shown-anywhere';
    const refused = await refusalFor(url);
    expect(refused.message).toMatch(/^DATABASE_URL: PostgreSQL refused the connection \(.*anime_start_check_no_such_role.*; SQLSTATE 28[0-9A-Z]{3}\)$/);
    expect(refused.message).not.toContain('not-shown-anywhere');
    expect(refused.message).not.toContain('\n');
  });
});
