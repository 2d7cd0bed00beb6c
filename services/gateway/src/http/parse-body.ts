import type { z } from 'zod';
import { ApiError } from './api-error';

// A body with thousands of bad fields gets the first ones named, not an answer as large as the body.
const MAX_DETAILS = 50;

/**
 * `root` names the value itself when a problem is with all of it: `(body)`, or a path parameter's name.
 * Each unknown field is a bad field of its own, named by its path (`webhook.colour`).
 */
export function zodDetails(error: z.ZodError, root = '(body)'): { path: string; message: string }[] {
  const all = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'unknown field' }))
      : [{ path: issue.path.join('.') || root, message: messageOf(issue) }],
  );
  const more = all.length - MAX_DETAILS;
  const shown = all.slice(0, MAX_DETAILS);
  return more > 0 ? [...shown, { path: root, message: `and ${more} more problems` }] : shown;
}

function messageOf(issue: z.core.$ZodIssue): string {
  // A record's bad key: zod nests why (too long, not snake_case) under a generic "Invalid key".
  if (issue.code === 'invalid_key') return `invalid key: ${issue.issues.map((i) => i.message).join('; ')}`;
  return issue.message;
}

/** Parses with zod; a failure is a 400 listing each bad field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what = 'request body', root?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = zodDetails(result.error, root);
  throw new ApiError(400, 'validation_failed', `invalid ${what}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}
