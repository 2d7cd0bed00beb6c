import { toStorableText, type JobError } from '@anime/contracts';

/**
 * The most characters of a failed generation's `error.message` kept. ComfyUI's own words go there
 * (an exception_message, each failing node of a /prompt refusal): a real one is a line or a few
 * hundred characters; a broken or hostile server may send megabytes (a JSON answer may have 64 MiB).
 */
export const JOB_ERROR_MESSAGE_MAX_CHARS = 8_000;
/**
 * About the most characters of `error.details` kept, as JSON (plus a few truncation markers). Real
 * details (an execution_error with its traceback and inputs, a /prompt refusal's body) are a few to
 * some tens of KB. They are stored twice (the generation and its attempt) and sent in webhooks.
 */
export const JOB_ERROR_DETAILS_MAX_CHARS = 64_000;
/** The most characters of one string inside the details, so one long value leaves room for the rest. */
const DETAILS_STRING_MAX_CHARS = 16_000;
/** Key names (node ids, field names) are short; a longer one is cut. */
const DETAILS_KEY_MAX_CHARS = 256;
/** Nesting kept: ComfyUI's details are a few levels deep; deeper ones would also overflow JSON.stringify. */
const DETAILS_MAX_DEPTH = 20;
/** With less room left than this, no further entry is begun: its container says how many were left out. */
const MIN_ENTRY_CHARS = 64;

const OMITTED = Symbol('omitted');
type Budget = { left: number };

/**
 * A job error as it can be stored and sent on: PostgreSQL refuses NUL characters and lone UTF-16
 * surrogates (in text and in jsonb), so each becomes U+FFFD, and the message and details are bounded,
 * each cut marked `… [truncated: …]`. What was said is otherwise kept word for word.
 */
export function storableJobError(error: JobError): JobError {
  const message = boundedText(error.message, JOB_ERROR_MESSAGE_MAX_CHARS);
  if (error.details === undefined) return { code: error.code, message };
  const details = storableDetails(error.details);
  return { code: error.code, message, ...(details === undefined ? {} : { details }) };
}

/**
 * A job error's details as storableJobError keeps them: storable, within about
 * JOB_ERROR_DETAILS_MAX_CHARS and DETAILS_MAX_DEPTH levels deep, so JSON.stringify can always write
 * them (it throws a RangeError on values nested past the call stack, which JSON.parse reads);
 * undefined when nothing of them fits or JSON has none (a function).
 */
export function storableDetails(details: unknown): unknown {
  const kept = keep(details, { left: JOB_ERROR_DETAILS_MAX_CHARS }, 0);
  return kept === OMITTED ? undefined : kept;
}

/** Text made storable and cut to `max` characters (never inside a surrogate pair), with a marker saying how much was left out. */
function boundedText(text: string, max: number): string {
  if (text.length <= max) return toStorableText(text);
  let end = Math.max(0, max);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${toStorableText(text.slice(0, end))}… [truncated: ${text.length - end} more characters]`;
}

const jsonLength = (value: unknown) => JSON.stringify(value)?.length ?? 0;

function keepString(text: string, budget: Budget): string | typeof OMITTED {
  if (budget.left < MIN_ENTRY_CHARS && text.length + 2 > budget.left) return OMITTED;
  const room = Math.min(DETAILS_STRING_MAX_CHARS, budget.left);
  let kept = boundedText(text, room);
  // Control characters take six characters each as JSON: cut further when they would overrun.
  if (jsonLength(kept) > room + MIN_ENTRY_CHARS) kept = boundedText(text, Math.floor(room / 6));
  budget.left -= jsonLength(kept);
  return kept;
}

/** The value as JSON would have it, storable and within the budget; OMITTED when nothing of it fits. */
function keep(value: unknown, budget: Budget, depth: number): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') value = (value as { toJSON: () => unknown }).toJSON();
  if (typeof value === 'string') return keepString(value, budget);
  if (value === null || typeof value === 'boolean' || typeof value === 'number') {
    const kept = typeof value === 'number' && !Number.isFinite(value) ? null : value;
    if (budget.left < jsonLength(kept)) return OMITTED;
    budget.left -= jsonLength(kept);
    return kept;
  }
  if (typeof value === 'bigint') return keepString(String(value), budget);
  if (typeof value !== 'object') return undefined; // undefined, a function, a symbol: JSON leaves them out
  if (depth >= DETAILS_MAX_DEPTH) return keepString(`… [truncated: nested deeper than ${DETAILS_MAX_DEPTH} levels]`, budget);
  if (budget.left < MIN_ENTRY_CHARS) return OMITTED;
  budget.left -= 2;
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = budget.left < MIN_ENTRY_CHARS ? OMITTED : keep(value[i], budget, depth + 1);
      if (item === OMITTED) {
        items.push(`… [truncated: ${value.length - i} more items]`);
        break;
      }
      items.push(item === undefined ? null : item);
      budget.left -= 1;
    }
    return items;
  }
  const entries: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = boundedText(keys[i], DETAILS_KEY_MAX_CHARS);
    const cost = jsonLength(key) + 2;
    const item = budget.left < MIN_ENTRY_CHARS + cost ? OMITTED : keep((value as Record<string, unknown>)[keys[i]], ((budget.left -= cost), budget), depth + 1);
    if (item === OMITTED) {
      entries['…'] = `truncated: ${keys.length - i} more entries`;
      break;
    }
    // Defined, not assigned: a key named __proto__ (JSON.parse makes it an own property) stays an entry.
    if (item !== undefined) Object.defineProperty(entries, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return entries;
}
