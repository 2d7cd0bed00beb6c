import { CliError } from './cli-error';

/**
 * How a connection fails while the gateway restarts (a rolling deploy's switch included): nobody
 * listening yet (refused), or the old process cutting the connection it held (reset, closed).
 */
const CONNECTION_LOST = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);
/** Answers that mean "not now": a proxy with no gateway behind it (502, 504), or a gateway that cannot answer yet (503). */
const AWAY_STATUSES = new Set([502, 503, 504]);

/**
 * A request that found the gateway away for now (a restart, a deploy): the same request asked again a
 * little later may be answered. Its message is the one any CliError of that failure carries.
 */
export class GatewayAwayError extends CliError {
  constructor(
    message: string,
    /** What happened, short: the connection's failure (`connect ECONNREFUSED …`) or the status and code. */
    readonly reason: string,
    body?: unknown,
    /** The answer's Retry-After, when it had one: not asked again before that. */
    readonly retryAfterMs?: number,
  ) {
    super(message, 1, body);
    this.name = 'GatewayAwayError';
  }
}

/** Whether a failed fetch (its cause: Node's socket error) is a connection a restarting gateway refused or cut. */
export function connectionLost(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  if (!cause) return false;
  return CONNECTION_LOST.has(cause.code ?? '') || (cause.errors ?? []).some((e) => CONNECTION_LOST.has(e?.code ?? ''));
}

/** Whether an answer's status is one a restarting gateway (or the proxy in front of it) gives. */
export function awayStatus(status: number): boolean {
  return AWAY_STATUSES.has(status);
}

/** Retry-After (seconds, or an HTTP date) in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
