import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { startOpsServer } from '../src/ops-server';

const holdPort = () =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });

const failure = (options: Parameters<typeof startOpsServer>[0]) =>
  startOpsServer(options).then(
    async (ops) => {
      await ops.close();
      return null;
    },
    (error: Error) => error,
  );

describe('the ops server failing to listen', () => {
  it('when its port is taken, then the start fails naming the port, its variable and EADDRINUSE', async () => {
    const holder = await holdPort();
    const { port } = holder.address() as AddressInfo;
    try {
      const error = await failure({ service: 'character', port, portVariable: 'CHARACTER_PORT' });
      expect(error?.message).toBe(`port ${port} (CHARACTER_PORT) on 127.0.0.1 (OPS_HOST) is already in use (EADDRINUSE): stop what listens there or set CHARACTER_PORT to a free port`);
    } finally {
      holder.close();
    }
  });

  it('when OPS_HOST is not an address of this machine, then the start fails naming OPS_HOST, never its value', async () => {
    const error = await failure({ service: 'orchestrator', port: 0, host: '192.0.2.1', portVariable: 'ORCHESTRATOR_PORT' });
    expect(error?.message).toMatch(/^OPS_HOST is not an address of this machine \(EADDRNOTAVAIL\): set OPS_HOST to/);
    expect(error?.message).not.toContain('192.0.2.1');
  });

  it('when OPS_HOST is a host name that does not resolve, then the start fails naming OPS_HOST, never its value', async () => {
    const error = await failure({ service: 'file-organizer', port: 0, host: 'no-such-host.invalid', portVariable: 'FILE_ORGANIZER_PORT' });
    expect(error?.message).toMatch(/^OPS_HOST cannot be resolved \((ENOTFOUND|EAI_AGAIN)\): set OPS_HOST to/);
    expect(error?.message).not.toContain('no-such-host');
  });

  it('when OPS_HOST is an IPv6 address no socket can bind without a zone (link-local, EINVAL), then the start fails naming OPS_HOST, never its value', async () => {
    // fe80::1 passes the config's IPv6 check; listen() refuses it with EINVAL, a code of its own.
    const error = await failure({ service: 'orchestrator', port: 0, host: 'fe80::1', portVariable: 'ORCHESTRATOR_PORT' });
    expect(error?.message).toMatch(/OPS_HOST/);
    expect(error?.message).not.toContain('fe80');
  });

  it('when the port is free, then the server listens where it was asked', async () => {
    const ops = await startOpsServer({ service: 'character', port: 0, host: '::1', portVariable: 'CHARACTER_PORT' });
    try {
      expect(ops.host()).toBe('::1');
      expect((await fetch(`http://[::1]:${ops.port()}/healthz`)).status).toBe(200);
    } finally {
      await ops.close();
    }
  });
});
