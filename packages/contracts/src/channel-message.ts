import type { z } from 'zod';

/**
 * A Redis pub/sub message read against the schema of its channel (job control, backend changes):
 * its data, or null when it is not JSON or not of that shape. Publishers are other services of the
 * project, but a channel is open to anything that can reach Redis.
 */
export function parseChannelMessage<T extends z.ZodType>(schema: T, raw: string): z.infer<T> | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
