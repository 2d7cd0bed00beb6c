import { redactUrlCredentialsInText } from '@anime/logger';

/**
 * The error as BullMQ may keep it: its message becomes the job's failedReason and its stack joins
 * the job's stacktrace, both shown on bull-board to anyone who can open it. Between tries of a
 * transient fault that is the stage's own error, whose message may name a backend by its URL
 * (`backend <url> went down`), and COMFYUI_URLS may give one a password: it is shown as `***`.
 *
 * A copy of the same class, with the same own fields (its `name`, a ComfyUI status), so BullMQ and
 * every `instanceof` still tell a transient fault from an UnrecoverableError or a DelayedError; the
 * error itself is left as it is (a lease's abort reason may be shared by several jobs). An error
 * naming no credentials is returned as it is.
 */
export function queueVisibleError<E>(error: E): E {
  if (!(error instanceof Error)) return error;
  const message = redactUrlCredentialsInText(error.message);
  const stack = error.stack === undefined ? undefined : redactUrlCredentialsInText(error.stack);
  if (message === error.message && stack === error.stack) return error;
  const own = Object.getOwnPropertyDescriptors(error) as PropertyDescriptorMap;
  const field = (value: unknown): PropertyDescriptor => ({ value, writable: true, configurable: true, enumerable: false });
  own.message = field(message);
  if (stack !== undefined) own.stack = field(stack);
  // A name read through the prototype (a DOMException's getter) would throw on a copy.
  own.name ??= field(error.name);
  return Object.create(Object.getPrototypeOf(error) as object, own) as E;
}
