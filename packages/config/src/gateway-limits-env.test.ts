import { ConfigError, loadConfig } from './load-config';
import { gatewayConfigSchema } from './service-configs';

const base = { DATABASE_URL: 'postgresql://u@h/db', LIBRARY_DIR: '/tmp/lib' };

describe('the gateway limits', () => {
  it('when none is set, then the documented defaults apply', () => {
    expect(loadConfig(gatewayConfigSchema, base)).toMatchObject({
      RATE_LIMIT_RPS: 20,
      RATE_LIMIT_BURST: 40,
      RATE_LIMIT_COST_PER_MIN: 16 * 2048 * 2048 * 150,
      MAX_QUEUED_PER_KEY: 1000,
      MAX_QUEUE_DEPTH: 10000,
    });
  });

  it('when they are set, then they are read as integers, and RATE_LIMIT_BURST may be 0', () => {
    const config = loadConfig(gatewayConfigSchema, { ...base, RATE_LIMIT_RPS: '5', RATE_LIMIT_BURST: '0', RATE_LIMIT_COST_PER_MIN: '1000000', MAX_QUEUED_PER_KEY: '3', MAX_QUEUE_DEPTH: '7' });
    expect(config).toMatchObject({ RATE_LIMIT_RPS: 5, RATE_LIMIT_BURST: 0, RATE_LIMIT_COST_PER_MIN: 1_000_000, MAX_QUEUED_PER_KEY: 3, MAX_QUEUE_DEPTH: 7 });
  });

  it('when a value is bad, then the error names each variable and not its value', () => {
    const bad = { RATE_LIMIT_RPS: '0', RATE_LIMIT_BURST: '-1', RATE_LIMIT_COST_PER_MIN: '1.5e99', MAX_QUEUED_PER_KEY: 'lots', MAX_QUEUE_DEPTH: '2.5' };
    let error: unknown;
    try {
      loadConfig(gatewayConfigSchema, { ...base, ...bad });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as Error).message;
    for (const name of Object.keys(bad)) expect(text).toContain(name);
    expect(text).not.toContain('lots');
  });
});
