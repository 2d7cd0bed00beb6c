import { withoutSecret } from './redis-start-check';

describe("cutting REDIS_URL's password out of Redis's reply", () => {
  it('when the password appears as a word, then it is cut out; a short one is not cut out of other words, which stay whole', () => {
    expect(withoutSecret('ERR bad login for user:s3cr.t+pw@host', 's3cr.t+pw')).toBe('ERR bad login for user:***@host');
    expect(withoutSecret('WRONGPASS invalid username-password pair or user is disabled.', 'p')).toBe('WRONGPASS invalid username-password pair or user is disabled.');
    expect(withoutSecret('echo p here', 'p')).toBe('echo *** here');
    expect(withoutSecret('nothing secret', undefined)).toBe('nothing secret');
  });
});
