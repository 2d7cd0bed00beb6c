import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CliError } from './cli-error';

/** Where `scripts/setup.sh` stores the demo key, and where the CLI looks for one: a file only its user can read. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ANIME_CONFIG_DIR) return env.ANIME_CONFIG_DIR;
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'anime');
}

export interface Connection {
  baseUrl: string;
  key: string | null;
  /** Where the key came from, for messages (never the key itself). */
  keySource: string;
}

/**
 * The gateway and the key: `--url`, else ANIME_URL, else http://127.0.0.1:8080; the key from
 * ANIME_API_KEY, else the file `--key-file` names (CliError, exit 2, when it cannot be read), else
 * <config dir>/api-key when it exists.
 */
export function resolveConnection(options: { url?: string; keyFile?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const baseUrl = gatewayUrl(options.url, env.ANIME_URL);
  if (env.ANIME_API_KEY) return { baseUrl, key: env.ANIME_API_KEY.trim(), keySource: 'ANIME_API_KEY' };
  const file = options.keyFile ?? path.join(configDir(env), 'api-key');
  try {
    const key = readKeyFile(file);
    return { baseUrl, key: key || null, keySource: file };
  } catch (error) {
    // A file the user named must be there; the default one is only looked for.
    if (options.keyFile) {
      const why = error instanceof KeyFileRefused ? error.message : `cannot read --key-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      throw new CliError(why, 2);
    }
    return { baseUrl, key: null, keySource: 'none (set ANIME_API_KEY or run scripts/setup.sh)' };
  }
}

/** `--url`, else ANIME_URL, else the default; a value that is no http(s) URL is a usage error (exit 2), named by where it came from. */
function gatewayUrl(flag: string | undefined, fromEnv: string | undefined): string {
  const [value, source] = flag !== undefined ? [flag, '--url'] : fromEnv ? [fromEnv, 'ANIME_URL'] : ['http://127.0.0.1:8080', 'the default'];
  const protocol = URL.canParse(value) ? new URL(value).protocol : undefined;
  if (protocol !== 'http:' && protocol !== 'https:') throw new CliError(`${source} ${JSON.stringify(value)} is not an http(s) URL (e.g. http://127.0.0.1:8080)`, 2);
  return value.replace(/\/+$/, '');
}

/** A key is ~50 characters; a key file holds one key and a newline. */
const MAX_KEY_FILE_BYTES = 4096;

class KeyFileRefused extends Error {}

/**
 * The key in `file`, read only if it is a regular file of at most MAX_KEY_FILE_BYTES: a path to
 * /dev/zero or a large file once read without end, and a FIFO without a writer blocked forever
 * (opened non-blocking here, so it is refused instead).
 */
function readKeyFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new KeyFileRefused(`--key-file ${file} is not a regular file`);
    if (stat.size > MAX_KEY_FILE_BYTES) throw new KeyFileRefused(`--key-file ${file} is ${stat.size} bytes: an API key file holds one key (at most ${MAX_KEY_FILE_BYTES} bytes)`);
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES);
    const length = readSync(fd, buffer, 0, MAX_KEY_FILE_BYTES, 0);
    return buffer.subarray(0, length).toString('utf8').trim();
  } finally {
    closeSync(fd);
  }
}
