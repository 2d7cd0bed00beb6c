import { API_SCOPES, type ApiScope } from '@anime/contracts';
import { isUniqueViolation, type Db } from '@anime/db';
import { ApiKeyError } from './key-errors';
import { generateKey, hashKey, keyPrefix } from './key-material';

export interface NewApiKey {
  name: string;
  scopes: readonly string[];
  /** Limits the key to these projects; absent or null: every project. */
  projects?: readonly string[] | null;
  expiresAt?: Date | null;
}

export interface MintedKey {
  id: string;
  name: string;
  /** The key itself: shown once, never stored. */
  key: string;
  prefix: string;
  scopes: ApiScope[];
  projects: string[] | null;
  expiresAt: Date | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// The rules of a key's name, scopes and projects, owned here: mintKey applies them, and the CLIs
// apply them to their flags before they touch the database (a bad value is then a usage error).

/** A key name: refused with `invalid_name`. */
export function checkKeyName(name: string): string {
  if (!NAME.test(name)) throw new ApiKeyError('invalid_name', 'a key name is 1-64 letters, digits, ".", "_", ":" or "-", starting with a letter or digit');
  return name;
}

/** Known scopes, at least one (`unknown_scope`, `no_scopes`), without repeats. */
export function checkScopes(scopes: readonly string[]): ApiScope[] {
  const unknown = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (unknown.length) throw new ApiKeyError('unknown_scope', `unknown scope(s): ${unknown.join(', ')}; scopes are ${API_SCOPES.join(', ')}`);
  if (!scopes.length) throw new ApiKeyError('no_scopes', `a key needs at least one scope (${API_SCOPES.join(', ')})`);
  return [...new Set(scopes)] as ApiScope[];
}

/** Project names, at least one when given (`invalid_projects`), without repeats; absent or null: every project. */
export function checkProjects(projects: readonly string[] | null | undefined): string[] | null {
  const unique = projects ? [...new Set(projects)] : null;
  if (unique && (!unique.length || unique.some((p) => !PROJECT.test(p)))) {
    throw new ApiKeyError('invalid_projects', 'projects are a non-empty list of names of 1-64 letters, digits, ".", "_" or "-"');
  }
  return unique;
}

/** Creates a key and stores only its sha256; a live key with the same name is refused (`name_taken`). */
export async function mintKey(db: Db, input: NewApiKey): Promise<MintedKey> {
  checkKeyName(input.name);
  const scopes = checkScopes(input.scopes);
  const projects = checkProjects(input.projects);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new ApiKeyError('invalid_expiry', 'the expiry is not a valid date');
  const key = generateKey();
  try {
    const row = await db.apiKey.create({
      data: { name: input.name, keyHash: hashKey(key), prefix: keyPrefix(key), scopes, projects: projects ?? undefined, expiresAt },
    });
    return { id: row.id, name: row.name, key, prefix: row.prefix, scopes, projects, expiresAt };
  } catch (error) {
    if (isUniqueViolation(error)) throw new ApiKeyError('name_taken', `a live key named "${input.name}" exists; revoke it first (pnpm apikey:revoke ${input.name})`);
    throw error;
  }
}
