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
 * The gateway and the key: `--url`, else ANIME_URL, else http://127.0.0.1:8080; the key from the
 * file `--key-file` names (given on the command line, it goes before the environment, as `--url`
 * does), else ANIME_API_KEY, else the file ANIME_API_KEY_FILE names (where
 * `scripts/setup.sh` writes it when set; CliError, exit 2, when a named file cannot be read), else
 * <config dir>/api-key when it exists.
 */
export function resolveConnection(options: { url?: string; keyFile?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const baseUrl = gatewayUrl(options.url, env.ANIME_URL);
  if (env.ANIME_API_KEY && options.keyFile === undefined) return { baseUrl, key: checkedKey(env.ANIME_API_KEY.trim(), 'ANIME_API_KEY'), keySource: 'ANIME_API_KEY' };
  const [named, source] = options.keyFile !== undefined ? [options.keyFile, '--key-file'] : env.ANIME_API_KEY_FILE ? [env.ANIME_API_KEY_FILE, 'ANIME_API_KEY_FILE'] : [undefined, 'the default key file'];
  const file = named ?? path.join(configDir(env), 'api-key');
  try {
    const key = readKeyFile(file, source);
    return { baseUrl, key: key ? checkedKey(key, file) : null, keySource: file };
  } catch (error) {
    if (error instanceof CliError) throw error;
    // A file the user named must be there; the default one is only looked for: its absence means no
    // key, but one that is there and cannot be read (a directory, too large, unreadable) is said, not
    // passed over for a request without a key that the gateway answers "key from none".
    const code = (error as NodeJS.ErrnoException).code;
    if (named === undefined && (code === 'ENOENT' || code === 'ENOTDIR')) return { baseUrl, key: null, keySource: 'none (set ANIME_API_KEY or run scripts/setup.sh)' };
    throw new CliError(error instanceof KeyFileRefused ? error.message : `cannot read ${source} ${file}: ${code ?? (error as Error).message}`, 2);
  }
}

/**
 * A key as an Authorization header can carry it: one token of printable ASCII (`ak_` and base64url).
 * Anything else (two lines, a pasted space, a non-ASCII character) is refused here, exit 2, naming
 * where it came from and never showing it: fetch refused it with a message quoting the header, key
 * included, as if the gateway could not be reached.
 */
function checkedKey(key: string, source: string): string {
  if (!/^[\x21-\x7e]+$/.test(key)) throw new CliError(`the API key in ${source} is not one key: a key is one line of printable ASCII characters without spaces (as apikey:create prints it)`, 2);
  return key;
}

/** `--url`, else ANIME_URL, else the default; a value that is no http(s) URL is a usage error (exit 2), named by where it came from. */
function gatewayUrl(flag: string | undefined, fromEnv: string | undefined): string {
  const [value, source] = flag !== undefined ? [flag, '--url'] : fromEnv ? [fromEnv, 'ANIME_URL'] : ['http://127.0.0.1:8080', 'the default'];
  const url = URL.canParse(value) ? new URL(value) : undefined;
  // A user name or password is none the gateway reads (the key is), and would be printed back in
  // messages: refused, unshown, whatever the scheme. A value with an `@` that is no URL at all (a typo'd
  // scheme) may hold one too: it is not quoted either.
  if (url?.username || url?.password) throw new CliError(`${source} holds a user name or password: the gateway takes an API key instead (ANIME_API_KEY or --key-file)`, 2);
  const quoted = value.includes('@') ? '' : ` ${JSON.stringify(value)}`;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new CliError(`${source}${quoted} is not an http(s) URL (e.g. http://127.0.0.1:8080)`, 2);
  // The API paths are appended to it: a query or fragment would swallow them.
  if (url.search || url.hash || value.includes('?') || value.includes('#')) throw new CliError(`${source} ${JSON.stringify(value)} has a query or fragment: give the gateway's base URL (e.g. http://127.0.0.1:8080)`, 2);
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
function readKeyFile(file: string, source: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new KeyFileRefused(`${source} ${file} is not a regular file`);
    if (stat.size > MAX_KEY_FILE_BYTES) throw new KeyFileRefused(`${source} ${file} is ${stat.size} bytes: an API key file holds one key (at most ${MAX_KEY_FILE_BYTES} bytes)`);
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES);
    const length = readSync(fd, buffer, 0, MAX_KEY_FILE_BYTES, 0);
    return buffer.subarray(0, length).toString('utf8').trim();
  } finally {
    closeSync(fd);
  }
}
