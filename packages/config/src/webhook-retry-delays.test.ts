import { loadConfig, ConfigError } from './load-config';
import { gatewayConfigSchema } from './service-configs';

const base = { DATABASE_URL: 'postgresql://u@h/db', LIBRARY_DIR: '/tmp/lib' };

describe('WEBHOOK_RETRY_DELAYS', () => {
  it('when unset, then the default schedule applies; when set, then each duration is read in ms', () => {
    expect(loadConfig(gatewayConfigSchema, base).WEBHOOK_RETRY_DELAYS).toBeUndefined();
    expect(loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_RETRY_DELAYS: '500ms, 5s,5m ,2h' }).WEBHOOK_RETRY_DELAYS).toEqual([500, 5_000, 300_000, 7_200_000]);
  });

  it('when a duration is unreadable or longer than a day, then the config is refused naming the variable', () => {
    for (const bad of ['5', '5 minutes', '-1s', '25h', Array(21).fill('1s').join(',')]) {
      expect(() => loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_RETRY_DELAYS: bad })).toThrow(ConfigError);
      expect(() => loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_RETRY_DELAYS: bad })).toThrow(/WEBHOOK_RETRY_DELAYS/);
    }
  });

  it('when a duration is bad, then the message names its position, never its text (a config error never echoes a value)', () => {
    expect(() => loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_RETRY_DELAYS: '5s,5zq7Xv' })).toThrow(/WEBHOOK_RETRY_DELAYS: entry 2 of 2 is not a duration/);
    expect(() => loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_RETRY_DELAYS: '5s,5zq7Xv' })).not.toThrow(/zq7Xv/);
  });
});
