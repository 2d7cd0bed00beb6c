import { loadConfig, ConfigError } from './load-config';
import { orchestratorConfigSchema, gatewayConfigSchema } from './service-configs';

describe('loadConfig', () => {
  it('when every variable is valid, then it returns typed, defaulted values', () => {
    const config = loadConfig(gatewayConfigSchema, { DATABASE_URL: 'postgresql://u@h/db', LIBRARY_DIR: '/tmp/lib', REDIS_URL: 'redis://127.0.0.1:6379/9' });
    expect(config.PORT).toBe(8080);
    expect(config.QUEUE_PREFIX).toBe('bull');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379/9');
  });

  it('when values are bad, then the error names each variable and not its value', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig(orchestratorConfigSchema, { DATABASE_URL: 'mysql://secret@h/db', COMFYUI_URLS: 'ftp://x', PORT: '1', LIBRARY_DIR: '/l', JOB_MAX_ATTEMPTS: '-3' });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.message;
    expect(text).toMatch(/DATABASE_URL/);
    expect(text).toMatch(/COMFYUI_URLS/);
    expect(text).toMatch(/JOB_MAX_ATTEMPTS/);
    expect(text).not.toMatch(/secret/);
  });

  it('when COMFYUI_URLS lists several servers, then each is trimmed and kept in order', () => {
    const config = loadConfig(orchestratorConfigSchema, { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l', COMFYUI_URLS: ' http://a:8188/ , http://b:8188' });
    expect(config.COMFYUI_URLS).toEqual(['http://a:8188', 'http://b:8188']);
    expect(config.IPADAPTER_WEIGHT).toBe(0.7);
    expect(config).toMatchObject({ JOB_MAX_ATTEMPTS: 3, JOB_TIMEOUT_S: 600 });
    expect(() => loadConfig(orchestratorConfigSchema, { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l', COMFYUI_URLS: 'http://a', JOB_MAX_ATTEMPTS: '51' })).toThrow(/JOB_MAX_ATTEMPTS/);
    expect(() => loadConfig(orchestratorConfigSchema, { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l', COMFYUI_URLS: 'http://a', IPADAPTER_WEIGHT: 'strong' })).toThrow(/IPADAPTER_WEIGHT/);
  });

  it('when AUTH_MODE or SOCKET_MAX_SUBSCRIPTIONS is not set, then auth is on with 200 subscriptions; a bad value names the variable', () => {
    const base = { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l' };
    expect(loadConfig(gatewayConfigSchema, base)).toMatchObject({ AUTH_MODE: 'on', SOCKET_MAX_SUBSCRIPTIONS: 200 });
    expect(loadConfig(gatewayConfigSchema, { ...base, AUTH_MODE: 'off' }).AUTH_MODE).toBe('off');
    expect(() => loadConfig(gatewayConfigSchema, { ...base, AUTH_MODE: 'maybe' })).toThrow(/AUTH_MODE/);
    expect(() => loadConfig(gatewayConfigSchema, { ...base, SOCKET_MAX_SUBSCRIPTIONS: '0' })).toThrow(/SOCKET_MAX_SUBSCRIPTIONS/);
  });
});
