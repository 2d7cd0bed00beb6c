import type { Redis } from 'ioredis';
import { jobControlChannel, jobControlMessageSchema, parseChannelMessage } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';

/** The reason a render's stop signal carries when its generation was canceled. */
export class CancelRequested extends Error {
  readonly name = 'CancelRequested';
  constructor(readonly generationId: string) {
    super(`generation ${generationId} was canceled`);
  }
}

/** How often the renders this process drives are checked against their rows, for a lost message or a cancel that sent none. */
const DEFAULT_CHECK_MS = 2_000;

/**
 * Cancel requests for the renders this process drives: each render watches its generation, and the
 * watch aborts when the gateway's message arrives on the control channel or, should that message be
 * lost, when the generation's `cancelRequestedAt` is seen set (checked every few seconds, and by the
 * render itself when it picks the job). The same check finds a generation the gateway canceled at
 * once (no backend held it, so no request and no message): a render still waiting to place it lets go.
 * A message only says when to look: the row decides, since Redis pub/sub spans every database index
 * of its server, so a deployment on another index with the same QUEUE_PREFIX publishes on this very
 * channel, its cancels naming generations of its own database (README, Redis users).
 */
export class CancelRequests {
  private readonly watched = new Map<string, Set<AbortController>>();
  private timer: NodeJS.Timeout | undefined;

  /** `subscriber` is a connection of its own (subscriber mode), closed by stop(). */
  constructor(private readonly deps: { db: Db; subscriber: Redis; queuePrefix: string; log: Logger; checkEveryMs?: number }) {}

  async start(): Promise<void> {
    const channel = jobControlChannel(this.deps.queuePrefix);
    this.deps.subscriber.on('message', (from: string, raw: string) => {
      if (from !== channel) return;
      const message = parseChannelMessage(jobControlMessageSchema, raw);
      if (!message) {
        this.deps.log.warn('ignored a malformed job control message', { channel });
        return;
      }
      if (!this.watched.has(message.generationId)) return;
      this.abortRecorded([message.generationId]).catch((error: Error) =>
        this.deps.log.warn('could not check a cancel request; the next check of the column applies it', { generationId: message.generationId, error: error.message }),
      );
    });
    await this.deps.subscriber.subscribe(channel);
    this.timer = setInterval(() => void this.checkColumn(), this.deps.checkEveryMs ?? DEFAULT_CHECK_MS);
    this.timer.unref();
  }

  /** A signal that aborts (with CancelRequested) when the generation is canceled; dispose when the render ends. */
  watch(generationId: string): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    const set = this.watched.get(generationId) ?? new Set();
    set.add(controller);
    this.watched.set(generationId, set);
    return {
      signal: controller.signal,
      dispose: () => {
        set.delete(controller);
        if (!set.size && this.watched.get(generationId) === set) this.watched.delete(generationId);
      },
    };
  }

  abort(generationId: string): void {
    for (const controller of this.watched.get(generationId) ?? []) {
      if (!controller.signal.aborted) controller.abort(new CancelRequested(generationId));
    }
  }

  /** Whether the generation's row records a cancel request: its message may not have arrived yet, nor the check of the column run. */
  async requested(generationId: string): Promise<boolean> {
    const row = await this.deps.db.generationJob.findUnique({ where: { id: generationId }, select: { cancelRequestedAt: true } });
    return !!row?.cancelRequestedAt;
  }

  private async checkColumn(): Promise<void> {
    const ids = [...this.watched.keys()];
    if (!ids.length) return;
    try {
      await this.abortRecorded(ids);
    } catch (error) {
      this.deps.log.warn('could not check for cancel requests', { error: (error as Error).message });
    }
  }

  /** Aborts the watches of those generations whose rows record a cancel request, or the cancel itself. */
  private async abortRecorded(ids: string[]): Promise<void> {
    const recorded = await this.deps.db.generationJob.findMany({ where: { id: { in: ids }, OR: [{ cancelRequestedAt: { not: null } }, { status: 'canceled' }] }, select: { id: true } });
    for (const { id } of recorded) this.abort(id);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.deps.subscriber.unsubscribe().catch(() => undefined);
    this.deps.subscriber.disconnect();
  }
}
