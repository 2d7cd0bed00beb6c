import { checkReadiness } from './readiness';

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
});
