import { connect } from 'node:net';
import { isDatabaseUnavailable, isFileSystemError } from '../src';

/** An errno error as Node throws it: its message, errno, code, syscall, and path or address when it names one. */
const errno = (code: string, props: { syscall: string; path?: string; address?: string; port?: number }): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: failed, ${props.syscall}${props.path ? ` '${props.path}'` : ''}`), { errno: -110, code, ...props });

// ETIMEDOUT is both a socket's errno (a TCP keepalive or connect giving up on PostgreSQL) and a file
// system's: an NFS mount mounted `soft` gives up on a call of a library file with it. The second was
// taken as PostgreSQL away: a download or an upload meeting it answered 503 database_unavailable and
// was logged as a database outage.
describe('isDatabaseUnavailable on a file system’s errors', () => {
  it('when a library file’s read, open or write times out (ETIMEDOUT naming its path, or a call only a file system makes), then it is no database outage', () => {
    const fileErrors = [
      errno('ETIMEDOUT', { syscall: 'read', path: '/library/references/kai/front.png' }),
      errno('ETIMEDOUT', { syscall: 'open', path: '/library/references/kai/front.png' }),
      errno('ETIMEDOUT', { syscall: 'write', path: '/library/references/kai/front.png.0123456789ab.partial' }),
      errno('ETIMEDOUT', { syscall: 'stat' }),
      errno('ETIMEDOUT', { syscall: 'mkdir' }),
      errno('ECONNRESET', { syscall: 'open', path: '/library/x.png' }),
      // Wrapped by a caller that kept it as its cause.
      new Error('the hash failed', { cause: errno('ETIMEDOUT', { syscall: 'read', path: '/library/x.png' }) }),
    ];
    expect(fileErrors.map(isDatabaseUnavailable)).toEqual(fileErrors.map(() => false));
    expect(fileErrors.slice(0, 6).map(isFileSystemError)).toEqual(fileErrors.slice(0, 6).map(() => true));
  });

  it('when a database connection’s socket fails (ETIMEDOUT, ECONNRESET, ECONNREFUSED on connect or read), then it is still an outage', async () => {
    const socketErrors: unknown[] = [
      errno('ETIMEDOUT', { syscall: 'connect', address: '10.0.0.5', port: 5432 }),
      errno('ETIMEDOUT', { syscall: 'read' }),
      errno('ECONNRESET', { syscall: 'read' }),
      errno('EPIPE', { syscall: 'write' }),
      // A Unix socket's names its path as `address`, not `path`.
      errno('ECONNREFUSED', { syscall: 'connect', address: '/var/run/postgresql/.s.PGSQL.5432' }),
      // As Prisma's adapter wraps one.
      Object.assign(new Error('DriverAdapterError'), { cause: errno('ETIMEDOUT', { syscall: 'connect', address: '10.0.0.5', port: 5432 }) }),
    ];
    // And what Node really throws for a refused TCP connection.
    socketErrors.push(
      await new Promise((resolve) => {
        connect({ host: '127.0.0.1', port: 1 }).on('error', resolve);
      }),
    );
    expect(socketErrors.map(isDatabaseUnavailable)).toEqual(socketErrors.map(() => true));
    expect(socketErrors.map(isFileSystemError)).toEqual(socketErrors.map(() => false));
  });
});
