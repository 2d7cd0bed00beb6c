import { ConfigError, loadConfig } from './load-config';
import { gatewayConfigSchema } from './service-configs';

const base = { DATABASE_URL: 'postgresql://u@h/db', LIBRARY_DIR: '/tmp/lib' };

describe('gateway input limits', () => {
  it('when unset, then IMPORT_CONCURRENCY is 2 and REFERENCE_MAX_PIXELS 40 MP; when set, then the values are taken', () => {
    expect(loadConfig(gatewayConfigSchema, base)).toMatchObject({ IMPORT_CONCURRENCY: 2, REFERENCE_MAX_PIXELS: 40_000_000 });
    expect(loadConfig(gatewayConfigSchema, { ...base, IMPORT_CONCURRENCY: '4', REFERENCE_MAX_PIXELS: '1000000' })).toMatchObject({ IMPORT_CONCURRENCY: 4, REFERENCE_MAX_PIXELS: 1_000_000 });
  });

  it('when they are not positive integers, then the error names each variable and not its value', () => {
    const error = (() => {
      try {
        loadConfig(gatewayConfigSchema, { ...base, IMPORT_CONCURRENCY: '0', REFERENCE_MAX_PIXELS: 'lots-9137' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/IMPORT_CONCURRENCY/);
    expect(error!.message).toMatch(/REFERENCE_MAX_PIXELS/);
    expect(error!.message).not.toMatch(/lots-9137/);
  });
});
