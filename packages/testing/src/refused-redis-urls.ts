import { randomBytes } from 'node:crypto';
import { TEST_REDIS_URL } from './queue-prefix';

/**
 * REDIS_URLs the test Redis refuses, for tests that a service stops naming REDIS_URL and never
 * prints the password: `wrongLogin` names a user Redis does not know (WRONGPASS, as for a wrong
 * password, which is `password`), `missingDatabase` an index far beyond the 16 a Redis has unless
 * configured otherwise, `nonNumericDatabase` an index that is no number.
 */
export function refusedRedisUrls(): { password: string; wrongLogin: string; missingDatabase: string; nonNumericDatabase: string } {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const urlWith = (change: (url: URL) => void) => {
    const url = new URL(TEST_REDIS_URL);
    change(url);
    return url.toString();
  };
  return {
    password,
    wrongLogin: urlWith((url) => {
      url.username = `nobody-${randomBytes(3).toString('hex')}`;
      url.password = password;
    }),
    missingDatabase: urlWith((url) => {
      url.pathname = '/999999';
    }),
    nonNumericDatabase: urlWith((url) => {
      url.pathname = '/abc';
    }),
  };
}
