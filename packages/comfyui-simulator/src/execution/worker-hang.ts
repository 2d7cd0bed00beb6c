/**
 * A node that does not return: a custom node stuck in a loop or on I/O, a hung GPU call, or the
 * prompt worker thread dead of an exception outside any node's try (comfyui-protocol.md §10). The
 * prompt stays in queue_running with nothing more said of it, nothing queued behind it runs, and an
 * interrupt only sets the flag, which nobody checks, while HTTP goes on answering. Armed by a test,
 * the next node to start hangs until released; it then goes on (and honours an interrupt requested
 * meanwhile at its first check, as a node that returns to ComfyUI's sampler does).
 */
export class WorkerHang {
  private armed = false;
  private released: Promise<void> | undefined;
  private release: (() => void) | undefined;

  /** The next node to start hangs (and every one after it, until released). */
  arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.released = new Promise((resolve) => (this.release = resolve));
  }

  /** Lets the hung node (if any) go on; nodes start normally again. */
  disarm(): void {
    this.armed = false;
    this.release?.();
    this.release = undefined;
    this.released = undefined;
  }

  get hanging(): boolean {
    return this.armed;
  }

  /** Resolves at once unless armed; else once disarmed. */
  async atNodeStart(): Promise<void> {
    if (this.armed) await this.released;
  }
}
