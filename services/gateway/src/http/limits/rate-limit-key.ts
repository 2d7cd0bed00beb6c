import type { Request, Response } from 'express';
import { callerOf } from '../auth/caller';

/** Whom a limit counts: the API key, or the client's address when there is none (AUTH_MODE=off). */
export function rateLimitKey(req: Request, res: Response): string {
  const { keyId } = callerOf(res);
  return keyId ? `key:${keyId}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}
