import { ConfigError, loadConfig } from './load-config';
import { gatewayConfigSchema, WEBHOOK_LOG_RETENTION_DEFAULT_DAYS } from './service-configs';

const base = { DATABASE_URL: 'postgresql://u@h/db', LIBRARY_DIR: '/tmp/lib' };

describe('WEBHOOK_LOG_RETENTION_DAYS', () => {
  it('when unset or empty, then 30 days; when set, then the whole number of days given', () => {
    expect(WEBHOOK_LOG_RETENTION_DEFAULT_DAYS).toBe(30);
    expect(loadConfig(gatewayConfigSchema, base).WEBHOOK_LOG_RETENTION_DAYS).toBe(30);
    expect(loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_LOG_RETENTION_DAYS: '' }).WEBHOOK_LOG_RETENTION_DAYS).toBe(30);
    expect(loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_LOG_RETENTION_DAYS: '7' }).WEBHOOK_LOG_RETENTION_DAYS).toBe(7);
    expect(loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_LOG_RETENTION_DAYS: '3650' }).WEBHOOK_LOG_RETENTION_DAYS).toBe(3650);
  });

  it('when the value is not a whole number of days from 1 to 3650, then the config is refused naming the variable, never the value', () => {
    for (const bad of ['0', '-5', '1.5', 'thirty', '3651', '30d']) {
      let error: unknown;
      try {
        loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_LOG_RETENTION_DAYS: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as Error).message;
      expect(text).toContain('WEBHOOK_LOG_RETENTION_DAYS');
      expect({ bad, leaked: text.includes(bad) }).toEqual({ bad, leaked: false });
    }
  });
});
