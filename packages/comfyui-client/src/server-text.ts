/** At most this many characters of a name the server sent (a node id, a class, a file name) in a message, which is logged as it is. */
export const NAME_CHARS = 200;
/**
 * At most this many characters of ComfyUI's own words (an exception_message, a /prompt refusal's
 * messages) in a message: a real one is a line or a few hundred characters, a broken or hostile
 * server's may be megabytes. Twice what a failed job's error keeps (pipeline's JOB_ERROR_MESSAGE_MAX_CHARS).
 */
export const WORDS_CHARS = 16_000;
/** What a value the server sent reads as when even JSON cannot write it (nested past the call stack). */
const UNPRINTABLE = '(a value that cannot be shown)';

/** At most `max` characters of `text` (never half of a surrogate pair), with … when cut. */
export function cut(text: string, max = NAME_CHARS): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return `${text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max)}…`;
}

/** A name the server sent, cut and quoted, for a message. */
export const shown = (text: string): string => JSON.stringify(cut(text));

/**
 * A value the server sent, as text for a message: a string as it is, a number or boolean as String
 * writes it, anything else as JSON; cut to `max` characters. Never throws: String(value) and
 * `${value}` throw a TypeError on an object whose own `toString` or `valueOf` is not a function
 * (`{"toString": 1}`), and a RangeError on arrays nested deeper than the call stack, which the
 * orchestrator would take for an internal fault of ours and try again.
 */
export function serverText(value: unknown, max = NAME_CHARS): string {
  return cut(asText(value), max);
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    // Parsed JSON has no functions (no toJSON to call); the guard is for depth, and for values not from JSON.
    const json = JSON.stringify(value);
    return typeof json === 'string' ? json : UNPRINTABLE;
  } catch {
    return UNPRINTABLE;
  }
}

/** As serverText, for a field that may be absent: undefined (or null) stays undefined. */
export const optionalServerText = (value: unknown, max = NAME_CHARS): string | undefined => (value === undefined || value === null ? undefined : serverText(value, max));
