import { EventEmitter } from 'node:events';
import type { Logger } from '@anime/logger';
import { reportRedisErrors } from './redis-errors';

/** A refused login as ioredis reports it: the failed command rides along, arguments and all. */
function refusedLogin(password: string): Error {
  return Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), { command: { name: 'hello', args: ['3', 'AUTH', 'svc', password] } });
}

describe('reportRedisErrors', () => {
  it('when a Redis object emits an error, then the log gets its message and where it came from, never the failed command', () => {
    const warn = jest.fn();
    const source = reportRedisErrors(new EventEmitter(), { warn } as unknown as Logger, 'queue generation-requests');
    source.emit('error', refusedLogin('s3cretPW'));
    expect(warn).toHaveBeenCalledWith('redis error', { source: 'queue generation-requests', error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(JSON.stringify(warn.mock.calls)).not.toMatch(/s3cretPW|AUTH/);
  });

  it('when the same error comes again and again (a client reconnecting), then it is logged once a minute; another error at once', () => {
    const warn = jest.fn();
    let now = 0;
    const source = reportRedisErrors(new EventEmitter(), { warn } as unknown as Logger, 'redis worker', { now: () => now });
    for (let i = 0; i < 5; i++) source.emit('error', refusedLogin('x'));
    expect(warn).toHaveBeenCalledTimes(1);
    source.emit('error', new Error('connect ECONNREFUSED'));
    expect(warn).toHaveBeenCalledTimes(2);
    now += 60_000;
    source.emit('error', new Error('connect ECONNREFUSED'));
    expect(warn).toHaveBeenCalledTimes(3);
  });
});
