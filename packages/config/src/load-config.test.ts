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

  it('when BACKEND_PREFETCH is 0, then it is accepted (one prompt per backend at a time); a negative or fractional one is refused by name', () => {
    const base = { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l', COMFYUI_URLS: 'http://a:8188' };
    expect(loadConfig(orchestratorConfigSchema, base).BACKEND_PREFETCH).toBe(1);
    expect(loadConfig(orchestratorConfigSchema, { ...base, BACKEND_PREFETCH: '0' }).BACKEND_PREFETCH).toBe(0);
    for (const bad of ['-1', '1.5', 'two']) expect(() => loadConfig(orchestratorConfigSchema, { ...base, BACKEND_PREFETCH: bad })).toThrow(/BACKEND_PREFETCH/);
  });

  it('when a COMFYUI_URLS entry is not an http(s) URL, then the error names the variable and the entry by its position, never the entry', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig(orchestratorConfigSchema, { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l', COMFYUI_URLS: 'http://127.0.0.1:8488,ftp://admin:t0psecret@gpu' });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/COMFYUI_URLS: entry 2 /);
    expect(error!.message).not.toMatch(/t0psecret|admin|gpu|ftp|8488/);
  });

  it('when REDIS_URL names a database index, then it must be a whole number; a bad one names the variable, not the value', () => {
    const base = { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l' };
    for (const good of ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/', 'redis://u:p@127.0.0.1:6379/15', 'rediss://h:6380/0']) {
      expect(loadConfig(gatewayConfigSchema, { ...base, REDIS_URL: good }).REDIS_URL).toBe(good);
    }
    for (const bad of ['redis://u:s3cretPW@127.0.0.1:6379/abc', 'redis://u:s3cretPW@127.0.0.1:6379/-1', 'redis://u:s3cretPW@127.0.0.1:6379/1.5', 'redis://u:s3cretPW@127.0.0.1:6379/1/2', 'redis://u:s3cretPW@127.0.0.1:6379?db=abc']) {
      let message = '';
      try {
        loadConfig(gatewayConfigSchema, { ...base, REDIS_URL: bad });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/REDIS_URL: .*database index/);
      expect(message).not.toMatch(/s3cretPW|abc/);
    }
  });

  it('when AUTH_MODE, SOCKET_MAX_SUBSCRIPTIONS or SOCKET_MAX_CONNECTIONS_PER_KEY is not set, then auth is on with 200 subscriptions and 500 connections per key; a bad value names the variable', () => {
    const base = { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l' };
    expect(loadConfig(gatewayConfigSchema, base)).toMatchObject({ AUTH_MODE: 'on', SOCKET_MAX_SUBSCRIPTIONS: 200, SOCKET_MAX_CONNECTIONS_PER_KEY: 500 });
    expect(() => loadConfig(gatewayConfigSchema, { ...base, SOCKET_MAX_CONNECTIONS_PER_KEY: 'many' })).toThrow(/SOCKET_MAX_CONNECTIONS_PER_KEY/);
    expect(loadConfig(gatewayConfigSchema, { ...base, AUTH_MODE: 'off' }).AUTH_MODE).toBe('off');
    expect(() => loadConfig(gatewayConfigSchema, { ...base, AUTH_MODE: 'maybe' })).toThrow(/AUTH_MODE/);
    expect(() => loadConfig(gatewayConfigSchema, { ...base, SOCKET_MAX_SUBSCRIPTIONS: '0' })).toThrow(/SOCKET_MAX_SUBSCRIPTIONS/);
  });
});

describe('the HTTP edge variables', () => {
  const base = { DATABASE_URL: 'postgresql://u@h/db', LIBRARY_DIR: '/tmp/lib' };

  it('when nothing is set, then ops ports are loopback, no origin or host list applies, and the timeouts are bounded', () => {
    const config = loadConfig(gatewayConfigSchema, base);
    expect(config).toMatchObject({
      OPS_HOST: '127.0.0.1',
      CORS_ORIGINS: [],
      ALLOWED_HOSTS: [],
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_KEEPALIVE_TIMEOUT_MS: 5_000,
      HTTP_UPLOAD_TIMEOUT_MS: 300_000,
    });
    expect(loadConfig(orchestratorConfigSchema, { ...base, COMFYUI_URLS: 'http://a' }).OPS_HOST).toBe('127.0.0.1');
  });

  it('when lists are given, then origins are normalised and hosts lower-cased', () => {
    const config = loadConfig(gatewayConfigSchema, { ...base, OPS_HOST: '0.0.0.0', CORS_ORIGINS: 'https://Studio.example.com, http://localhost:3000/', ALLOWED_HOSTS: 'API.example.com,10.0.0.5:8080' });
    expect(config.OPS_HOST).toBe('0.0.0.0');
    expect(config.CORS_ORIGINS).toEqual(['https://studio.example.com', 'http://localhost:3000']);
    expect(config.ALLOWED_HOSTS).toEqual(['api.example.com', '10.0.0.5:8080']);
  });

  it('when values are bad, then each variable is named and no value is echoed', () => {
    for (const [variable, value] of [
      ['OPS_HOST', 'not a host!'],
      ['CORS_ORIGINS', 'https://ok.example,https://secret-path.example/app'],
      ['CORS_ORIGINS', '*'],
      ['ALLOWED_HOSTS', 'bad host/secret'],
      ['HTTP_REQUEST_TIMEOUT_MS', '0'],
      ['HTTP_HEADERS_TIMEOUT_MS', 'soon'],
      ['DATABASE_QUERY_TIMEOUT_MS', '500'],
      ['DATABASE_QUERY_TIMEOUT_MS', 'soon'],
    ]) {
      let message = '';
      try {
        loadConfig(gatewayConfigSchema, { ...base, [variable]: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain(variable);
      expect(message).not.toMatch(/secret|not a host|soon/);
    }
  });
});
