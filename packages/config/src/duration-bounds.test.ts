import type { z } from 'zod';
import { ConfigError, loadConfig } from './load-config';
import { characterConfigSchema, fileOrganizerConfigSchema, gatewayConfigSchema, orchestratorConfigSchema } from './service-configs';

/** Node's timers take a signed 32-bit count of milliseconds; a longer delay fires at once (TimeoutOverflowWarning). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

const base = { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l', COMFYUI_URLS: 'http://a' };
const SCHEMAS = { gateway: gatewayConfigSchema, character: characterConfigSchema, orchestrator: orchestratorConfigSchema, 'file-organizer': fileOrganizerConfigSchema };
type Schema = (typeof SCHEMAS)[keyof typeof SCHEMAS];

/** Every duration variable, the schema that reads it, and its unit in ms; `timer` when a setTimeout/AbortSignal.timeout waits that long. */
const DURATIONS: { variable: string; schema: Schema; unitMs: number; timer: boolean }[] = [
  { variable: 'JOB_TIMEOUT_S', schema: orchestratorConfigSchema, unitMs: 1000, timer: true },
  // Compared with how long a backend has not answered, never a timer; bounded all the same.
  { variable: 'BACKEND_UNREACHABLE_GRACE_S', schema: orchestratorConfigSchema, unitMs: 1000, timer: false },
  { variable: 'RECOVERY_SWEEP_MS', schema: characterConfigSchema, unitMs: 1, timer: true },
  { variable: 'DATABASE_QUERY_TIMEOUT_MS', schema: characterConfigSchema, unitMs: 1, timer: true },
  { variable: 'HTTP_HEADERS_TIMEOUT_MS', schema: gatewayConfigSchema, unitMs: 1, timer: true },
  { variable: 'HTTP_REQUEST_TIMEOUT_MS', schema: gatewayConfigSchema, unitMs: 1, timer: true },
  { variable: 'HTTP_KEEPALIVE_TIMEOUT_MS', schema: gatewayConfigSchema, unitMs: 1, timer: true },
  { variable: 'HTTP_UPLOAD_TIMEOUT_MS', schema: gatewayConfigSchema, unitMs: 1, timer: true },
  // Ages BullMQ compares with timestamps in Redis, never a timer; bounded all the same.
  { variable: 'QUEUE_KEEP_COMPLETED_S', schema: gatewayConfigSchema, unitMs: 1000, timer: false },
  { variable: 'QUEUE_KEEP_FAILED_S', schema: gatewayConfigSchema, unitMs: 1000, timer: false },
];

function accepts(schema: Schema, variable: string, value: number): boolean {
  try {
    loadConfig(schema as z.ZodType, { ...base, [variable]: String(value) });
    return true;
  } catch {
    return false;
  }
}

/** The largest value a variable is accepted with, found by bisection from its default. */
function largestAccepted(schema: Schema, variable: string): number {
  let low = (loadConfig(schema as z.ZodType, base) as Record<string, number>)[variable];
  let high = Number.MAX_SAFE_INTEGER;
  if (accepts(schema, variable, high)) return high;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (accepts(schema, variable, mid)) low = mid;
    else high = mid;
  }
  return low;
}

describe('duration variables', () => {
  it('when a service reads a variable named *_MS or *_S, then it is one of the durations checked here', () => {
    const named = new Set(Object.values(SCHEMAS).flatMap((schema) => Object.keys(schema.shape).filter((key) => /_(MS|S)$/.test(key))));
    expect([...named].sort()).toEqual(DURATIONS.map((d) => d.variable).sort());
  });

  it.each(DURATIONS.filter((d) => d.timer))('when $variable is at its largest accepted value, then the wait still fits a Node timer', ({ variable, schema, unitMs }) => {
    expect(largestAccepted(schema, variable) * unitMs).toBeLessThanOrEqual(LONGEST_TIMER_MS);
  });

  it.each(DURATIONS.filter((d) => !d.timer))('when $variable is set, then it is bounded', ({ variable, schema }) => {
    expect(largestAccepted(schema, variable)).toBeLessThan(Number.MAX_SAFE_INTEGER);
  });

  it('when JOB_TIMEOUT_S is beyond 7 days (3000000, 5000000), then the process is refused at start naming the variable, not the value; 7 days is taken', () => {
    for (const value of ['3000000', '5000000', '604801']) {
      let error: unknown;
      try {
        loadConfig(orchestratorConfigSchema, { ...base, JOB_TIMEOUT_S: value });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/JOB_TIMEOUT_S/);
      expect((error as Error).message).not.toContain(value);
    }
    expect(loadConfig(orchestratorConfigSchema, { ...base, JOB_TIMEOUT_S: '604800' }).JOB_TIMEOUT_S).toBe(604_800);
  });
});
