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
});
