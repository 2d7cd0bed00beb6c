import { createLogger } from '@anime/logger';
import { checkReadiness } from './readiness';

type Line = { level: string; message: string; [key: string]: unknown };

describe('checkReadiness', () => {
  it('when every dependency answers, then the service is ready', async () => {
    expect(await checkReadiness('gateway', { database: async () => {}, redis: async () => {} })).toEqual({ status: 'ready', service: 'gateway' });
  });

  it('when dependencies fail, then the report names them without the drivers\' messages', async () => {
    const report = await checkReadiness('gateway', {
      database: async () => {},
      redis: async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.7:6379 (user svc-gateway)');
      },
      comfyui: () => new Promise(() => {}),
    }, { timeoutMs: 100 });
    expect(report).toEqual({
      status: 'not_ready',
      service: 'gateway',
      failing: ['redis', 'comfyui'],
      error: { code: 'not_ready', message: 'gateway is not ready: redis, comfyui not answering' },
    });
    expect(JSON.stringify(report)).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|svc-gateway|within/);
  });

  it('when the database fails, then the code is database_unavailable', async () => {
    const report = await checkReadiness('character', { database: async () => Promise.reject(new Error('password authentication failed for user "anime"')) });
    expect(report).toMatchObject({ status: 'not_ready', failing: ['database'], error: { code: 'database_unavailable' } });
    expect(JSON.stringify(report)).not.toMatch(/password|anime/);
  });

  it('when the database fails every probe (every 5 s for 10 minutes), then one warn line a minute says so, the probes between are at debug, and its return is one info line', async () => {
    const log = createLogger('character', 'debug');
    for (const transport of log.transports) transport.silent = true;
    const lines: Line[] = [];
    log.on('data', (line: Line) => lines.push(line));
    let clock = 0;
    let down = true;
    const checks = { database: async () => (down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : undefined), redis: async () => {} };
    for (; clock < 600_000; clock += 5_000) await checkReadiness('character', checks, { log, now: () => clock });
    down = false;
    await checkReadiness('character', checks, { log, now: () => clock });
    await checkReadiness('character', checks, { log, now: () => clock });
    const loud = lines.filter((line) => line.level !== 'debug');
    // Before: 120 warn lines, one per probe.
    expect(loud.filter((line) => line.level === 'warn' && line.message === 'readiness check failed')).toHaveLength(10);
    expect(loud.filter((line) => line.level === 'info')).toEqual([expect.objectContaining({ message: 'readiness check passes again', dependency: 'database' })]);
    expect(lines.filter((line) => line.level === 'debug' && line.message === 'readiness check failed')).toHaveLength(110);
  });
});
