import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CliError } from './cli-error';
import { resolveConnection } from './connection';

/** The error resolveConnection refuses these options with; fails the test when it accepts them. */
function refusal(options: Parameters<typeof resolveConnection>[0], env: NodeJS.ProcessEnv = {}): CliError {
  try {
    resolveConnection(options, env);
  } catch (error) {
    return error as CliError;
  }
  throw new Error(`${JSON.stringify(options)} with ${JSON.stringify(env)} was accepted`);
}

describe('resolveConnection reading --key-file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'anime-key-file-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('when the file holds a key, then the key is used, trimmed', async () => {
    await writeFile(path.join(dir, 'api-key'), 'ak_live_0123456789abcdef\n', { mode: 0o600 });
    expect(resolveConnection({ keyFile: path.join(dir, 'api-key') }, {})).toMatchObject({ key: 'ak_live_0123456789abcdef' });
  });

  it('when --key-file names a file far larger than a key, then exit 2 saying so, without reading it whole', async () => {
    const big = path.join(dir, 'big');
    await writeFile(big, Buffer.alloc(8 * 1024 * 1024, 'k'));
    const error = refusal({ keyFile: big });
    expect(error).toBeInstanceOf(CliError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/--key-file .*big is 8388608 bytes: an API key file holds one key \(at most 4096 bytes\)/);
  });

  it('when --key-file names a device or a pipe (/dev/zero never ends; a FIFO without writer never answers), then exit 2 at once, naming it', async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const file of ['/dev/zero', fifo]) {
      const error = refusal({ keyFile: file });
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain(`--key-file ${file} is not a regular file`);
    }
  });
});

describe('resolveConnection reading ANIME_API_KEY_FILE', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'anime-key-env-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('when ANIME_API_KEY_FILE names a file (where scripts/setup.sh wrote the key), then its key is used; --key-file and ANIME_API_KEY go first, and --key-file (on the command line) before ANIME_API_KEY', async () => {
    await writeFile(path.join(dir, 'setup-key'), 'ak_from_setup\n', { mode: 0o600 });
    await writeFile(path.join(dir, 'flag-key'), 'ak_from_flag\n', { mode: 0o600 });
    const env = { ANIME_API_KEY_FILE: path.join(dir, 'setup-key'), ANIME_CONFIG_DIR: '/nonexistent' };
    expect(resolveConnection({}, env)).toMatchObject({ key: 'ak_from_setup', keySource: path.join(dir, 'setup-key') });
    expect(resolveConnection({ keyFile: path.join(dir, 'flag-key') }, env)).toMatchObject({ key: 'ak_from_flag' });
    expect(resolveConnection({}, { ...env, ANIME_API_KEY: 'ak_env' })).toMatchObject({ key: 'ak_env' });
    expect(resolveConnection({ keyFile: path.join(dir, 'flag-key') }, { ...env, ANIME_API_KEY: 'ak_env' })).toMatchObject({ key: 'ak_from_flag', keySource: path.join(dir, 'flag-key') });
  });

  it('when ANIME_API_KEY_FILE names a file that cannot be read, then exit 2 naming ANIME_API_KEY_FILE', () => {
    expect(refusal({}, { ANIME_API_KEY_FILE: path.join(dir, 'missing') })).toMatchObject({ exitCode: 2, message: `cannot read ANIME_API_KEY_FILE ${path.join(dir, 'missing')}: ENOENT` });
    expect(refusal({}, { ANIME_API_KEY_FILE: '/dev/zero' })).toMatchObject({ exitCode: 2, message: 'ANIME_API_KEY_FILE /dev/zero is not a regular file' });
  });
});

describe('resolveConnection looking for the default key file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'anime-key-default-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('when there is none, then no key is sent (the gateway says one is needed)', () => {
    expect(resolveConnection({}, { ANIME_CONFIG_DIR: path.join(dir, 'nothing-here') })).toMatchObject({ key: null });
  });

  it('when it is there but cannot be a key file (a directory, a file far larger than a key), then exit 2 naming it, not a request without a key that the gateway answers "key from none"', async () => {
    const asDirectory = path.join(dir, 'as-directory');
    execFileSync('mkdir', ['-p', path.join(asDirectory, 'api-key')]);
    const tooLarge = path.join(dir, 'too-large');
    execFileSync('mkdir', ['-p', tooLarge]);
    await writeFile(path.join(tooLarge, 'api-key'), Buffer.alloc(8192, 'k'));
    expect(refusal({}, { ANIME_CONFIG_DIR: asDirectory })).toMatchObject({ exitCode: 2, message: `the default key file ${path.join(asDirectory, 'api-key')} is not a regular file` });
    expect(refusal({}, { ANIME_CONFIG_DIR: tooLarge })).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^the default key file .*too-large\/api-key is 8192 bytes/) });
  });
});

describe('resolveConnection checking the key', () => {
  it('when the key (ANIME_API_KEY or a key file) is not one token of printable ASCII, then exit 2 naming where it came from, never showing it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'anime-bad-key-'));
    try {
      await writeFile(path.join(dir, 'two-keys'), 'ak_first_one\nak_second_one\n', { mode: 0o600 });
      const fromFile = refusal({ keyFile: path.join(dir, 'two-keys') });
      expect(fromFile).toMatchObject({ exitCode: 2, message: expect.stringMatching(new RegExp(`^the API key in ${path.join(dir, 'two-keys')} is not one key`)) });
      expect(fromFile.message).not.toMatch(/ak_first|ak_second/);
      for (const key of ['ak_with space', 'ak_\u0001ctl', 'ak_ключ']) {
        const fromEnv = refusal({}, { ANIME_API_KEY: key });
        expect(fromEnv).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^the API key in ANIME_API_KEY is not one key/) });
        expect(fromEnv.message).not.toContain(key);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resolveConnection choosing the gateway', () => {
  it('when --url or ANIME_URL is an http(s) URL, then it is used without its trailing slash; --url first', () => {
    expect(resolveConnection({ url: 'https://studio.example:8443/' }, { ANIME_URL: 'http://other' }).baseUrl).toBe('https://studio.example:8443');
    expect(resolveConnection({}, { ANIME_URL: 'http://10.0.0.5:8080' }).baseUrl).toBe('http://10.0.0.5:8080');
    expect(resolveConnection({}, {}).baseUrl).toBe('http://127.0.0.1:8080');
  });

  it('when --url or ANIME_URL is not an http(s) URL, then exit 2 naming where it came from', () => {
    expect(refusal({ url: 'foo' })).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--url "foo" is not an http\(s\) URL/) });
    expect(refusal({ url: 'ftp://gw' })).toMatchObject({ exitCode: 2 });
    expect(refusal({}, { ANIME_URL: 'localhost:8080' })).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^ANIME_URL "localhost:8080" is not an http\(s\) URL/) });
  });

  it('when --url or ANIME_URL holds a user name or password, a query or a fragment, then exit 2, the password never repeated', () => {
    const credentials = refusal({ url: 'http://studio:s3cret@gw:8080' });
    expect(credentials).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--url holds a user name or password/) });
    expect(credentials.message).not.toContain('s3cret');
    expect(refusal({}, { ANIME_URL: 'https://:tok@gw' })).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^ANIME_URL holds a user name or password/) });
    // Not http(s), or no URL at all (a typo'd scheme): the password is not repeated either.
    for (const url of ['ws://studio:s3cret@gw:8080', 'ftp://studio:s3cret@gw', 'https//studio:s3cret@gw:8080', 'studio:s3cret@gw:8080']) {
      const refused = refusal({ url });
      expect({ url, exitCode: refused.exitCode }).toEqual({ url, exitCode: 2 });
      expect(refused.message).not.toContain('s3cret');
    }
    for (const url of ['http://gw:8080?x=1', 'http://gw:8080/#top', 'http://gw:8080?']) {
      expect(refusal({ url })).toMatchObject({ exitCode: 2, message: expect.stringMatching(/has a query or fragment/) });
    }
    expect(resolveConnection({ url: 'http://gw:8080/anime/' }, {}).baseUrl).toBe('http://gw:8080/anime');
  });
});
