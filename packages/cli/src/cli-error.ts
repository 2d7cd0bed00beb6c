/** A failure the CLI reports as one line and a non-zero exit code, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The gateway's error body, printed as is with --json. */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A message as the one line the CLI promises: ComfyUI's messages and HTML error pages span several. */
export function oneLine(message: string): string {
  return printable(message.replace(/\s*\n\s*/g, ' ').trim());
}

/**
 * Text stored by others (a character's name, a prompt, ComfyUI's message) as it may be printed: its
 * control characters written as escapes (`\n`, `\t`, `\u001b`), so a name holding a newline keeps a
 * table one row a line, and one holding escape sequences cannot clear or retitle the terminal; the
 * bidirectional overrides and isolates too (U+202A-U+202E, U+2066-U+2069), which reorder what follows
 * them on the line (`invoice\u202egnp.exe` shows as `invoiceexe.png`).
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => CONTROL_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
