import type { ClientIdLeases, ClientLogger } from '../types';
import type { ComfyMessage } from './comfy-message';
import { ComfySocket } from './comfy-socket';

/** How often the hold is renewed (or asked for again) while watching: well within a lease's life. */
const HOLD_CHECK_MS = 3_000;

/**
 * A socket under the clientId a prompt was sent with, when that is not its follower's own (the
 * prompt came from another process, or from ours before a restart): ComfyUI sends the prompt's
 * events to that id only. ComfyUI keeps one socket per id (server.py): a new socket under an id
 * replaces the one there, and any socket's close pops the id, whichever socket holds it then. So
 * the socket is dialled only while `leases` lend the id to this process (its owner gone, nobody
 * else watching it), never redialled on its own after a drop, and closed as soon as the hold is
 * lost: a live owner is never fought over its id.
 */
export class ClientIdWatch {
  private readonly socket: ComfySocket;
  private timer: NodeJS.Timeout | undefined;
  private dialling: Promise<void> | undefined;
  private closed = false;

  constructor(
    url: string,
    readonly clientId: string,
    handshakeTimeoutMs: number,
    private readonly log: ClientLogger,
    private readonly leases: ClientIdLeases,
    private readonly checkEveryMs = HOLD_CHECK_MS,
  ) {
    this.socket = new ComfySocket(url, clientId, handshakeTimeoutMs, log);
    // ComfySocket redials a dropped socket by itself, without asking: here a drop ends its run and
    // the next check decides.
    this.socket.onState((state) => {
      if (state === 'closed') this.socket.close();
    });
  }

  /** Whether its socket is open now. */
  get listening(): boolean {
    return this.socket.isOpen;
  }

  /** When its socket last got a frame from the server, epoch ms; 0 before the first. */
  get lastFrameAt(): number {
    return this.socket.lastFrameAt;
  }

  onMessage(listener: (message: ComfyMessage) => void): () => void {
    return this.socket.onMessage(listener);
  }

  start(): void {
    void this.check();
  }

  /** Closes the socket, then gives the hold up. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.socket.close();
    this.release();
  }

  private async check(): Promise<void> {
    const held = await this.leases.hold(this.clientId).catch(() => false);
    if (this.closed) {
      if (held) this.release();
      return;
    }
    // Due whatever the dial awaits: a handshake left hanging (up to its timeout) must not let the hold lapse meanwhile.
    this.timer = setTimeout(() => void this.check(), this.checkEveryMs);
    this.timer.unref();
    if (held && !this.socket.isRunning) this.dial();
    else if (!held && (this.socket.isRunning || this.dialling)) {
      this.log.warn('another live process holds the clientId a followed prompt was sent with; no longer listening under it', { clientId: this.clientId });
      this.socket.close();
    }
  }

  /** One dial at a time; close() ends one still under way. */
  private dial(): void {
    this.dialling ??= this.socket
      .connect()
      .then(
        () => this.log.info('comfyui socket opened under the clientId a followed prompt was sent with', { clientId: this.clientId }),
        (error) => this.log.debug('comfyui socket under a borrowed clientId did not open', { clientId: this.clientId, error: (error as Error).message }),
      )
      .finally(() => (this.dialling = undefined));
  }

  private release(): void {
    this.leases.release(this.clientId).catch((error) => this.log.warn('could not give up the hold on a clientId', { clientId: this.clientId, error: (error as Error).message }));
  }
}
