/**
 * ComfyUI answered, but its answer (a /view file) stopped arriving, or arrived too slowly to end
 * within ComfyHttp's transfer allowance: not "unreachable" (it is there, sending), and worth another
 * try (a loaded link, a busy server) rather than waiting for it to come back.
 */
export class ComfyTransferError extends Error {
  readonly name = 'ComfyTransferError';

  constructor(
    message: string,
    /** `stalled`: no byte for the inactivity limit; `too_slow`: bytes still came, below the least rate. */
    readonly reason: 'stalled' | 'too_slow',
    /** Bytes of the answer that had arrived when it was cut off. */
    readonly bytesReceived: number,
  ) {
    super(message);
  }
}
