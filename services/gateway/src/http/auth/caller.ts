import type { Response } from 'express';
import type { ApiScope } from '@anime/contracts';

/** Who is calling: set on `res.locals.caller` by the authentication middleware for every /api request. */
export interface Caller {
  /** The API key's id; null when AUTH_MODE=off. */
  keyId: string | null;
  /** The key's name, for logs (never the key itself). */
  name: string;
  scopes: readonly ApiScope[];
  /** The projects the key is limited to; null means every project. */
  projects: readonly string[] | null;
}

/** AUTH_MODE=off: one local caller that may do everything (the gateway then listens on 127.0.0.1 only). */
export const LOCAL_CALLER: Caller = Object.freeze({ keyId: null, name: 'local', scopes: ['admin'] as const, projects: null });

export function callerOf(res: Response): Caller {
  return (res.locals.caller as Caller | undefined) ?? LOCAL_CALLER;
}
