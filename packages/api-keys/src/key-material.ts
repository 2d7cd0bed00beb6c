import { createHash, randomBytes } from 'node:crypto';

/** Every key starts with this, so a leaked one is recognisable (and secret scanners can match it). */
export const KEY_MARK = 'ak_';
/** How much of a key is kept in clear to tell keys apart in lists: the mark and 7 random characters. */
const PREFIX_LENGTH = 10;
/** Nothing longer is ever hashed: a header of megabytes must not cost a hash of megabytes. */
export const MAX_KEY_LENGTH = 200;

/** A new key: 32 random bytes (256 bits), base64url. */
export function generateKey(): string {
  return KEY_MARK + randomBytes(32).toString('base64url');
}

/** Only this is stored. A key has 256 bits of entropy, so a fast unsalted hash is enough (no dictionary to guess from). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function keyPrefix(key: string): string {
  return key.slice(0, PREFIX_LENGTH);
}
