import { readableQueue, type ComfyClient } from '@anime/comfyui-client';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { DEFAULT_STOP_GRACE_MS } from '../take-prompt-off';
import { findLostPrompts } from './lost-prompts';

/** How long an abandoned prompt is looked for: a backend back after longer has restarted, its queue gone, in all likelihood. */
const KEEP_MS = 60 * 60_000;
/** The most prompts one process remembers (the oldest are forgotten first). */
const MAX_REMEMBERED = 10_000;
/** How many prompts' attempts one sweep asks PostgreSQL about (the rest at the next ticks). */
const ASKED_AT_ONCE = 500;

interface Abandoned {
  jobId: string;
  promptId: string;
  at: number;
  /** Its attempt is over in PostgreSQL: nobody follows the prompt any more. */
  ended: boolean;
  interrupted: boolean;
  /** When it was interrupted (epoch ms): still running past the grace, it ignored the interrupt. */
  interruptedAt?: number;
  /** Reported as ignoring its interrupt (onIgnored), once. */
  reported?: boolean;
}

export interface AbandonedPromptsOptions {
  /**
   * A prompt interrupted here still runs `graceMs` later (a node that does not return, a dead worker
   * thread: comfyui-protocol.md §10): nothing queued behind it runs, as when a job's own interrupt is
   * ignored (takePromptOff's 'ignored'). Called once per prompt.
   */
  onIgnored?: (url: string, promptId: string) => void;
  /** How long an interrupted prompt is given to stop (DEFAULT_STOP_GRACE_MS, as a job's own stop). */
  graceMs?: number;
}

/**
 * Prompts this process left on a backend it took for down (a partition, a frozen host) while it
 * held them, and (restored at start) those earlier processes left so, as their attempts recorded.
 * Their jobs went on elsewhere, or ended; but a backend that comes back still runs what
 * its queue held, spending its GPU on images nobody files, ahead of the jobs it is given now.
 *
 * Once the backend is up again (swept at each probe tick) and a prompt's attempt is over in
 * PostgreSQL, the prompt is deleted from the backend's queue, or interrupted if it runs, and
 * forgotten once the backend holds it no more. An attempt still open is left alone: another
 * process may have taken the job over and follow that very prompt.
 */
export class AbandonedPrompts {
  private readonly byBackend = new Map<string, Map<string, Abandoned>>();
  private readonly sweeping = new Set<string>();
  private count = 0;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: AbandonedPromptsOptions = {},
  ) {}

  /**
   * `over`: this process follows the prompt no more though its attempt stays open (its backend is
   * stuck, and the job waits there for a place elsewhere): it is taken off at once, not once the job
   * is placed again, which may be on this very backend once it lets go, after the prompt has run.
   */
  add(url: string, jobId: string, promptId: string, over = false): void {
    let held = this.byBackend.get(url);
    if (!held) this.byBackend.set(url, (held = new Map()));
    if (held.has(promptId)) return;
    held.set(promptId, { jobId, promptId, at: Date.now(), ended: over, interrupted: false });
    this.count++;
    if (this.count > MAX_REMEMBERED) this.forgetOldest();
  }

  /**
   * Remembers what earlier processes left (a restart forgets it all): the prompts of attempts ended
   * with an error on these backends within KEEP_MS, newest first, at most MAX_REMEMBERED. Their
   * attempts are over, so a sweep takes them off without asking. Each backend's prompts stay oldest
   * first (forgetOldest relies on it), ahead of any this process left meanwhile. How many it read.
   */
  async restore(urls: string[]): Promise<number> {
    const lost = await findLostPrompts(this.db, urls, { withinMs: KEEP_MS, limit: MAX_REMEMBERED });
    const now = Date.now();
    const byBackend = new Map<string, Abandoned[]>();
    for (const row of lost.reverse()) {
      const restored = byBackend.get(row.backend) ?? [];
      restored.push({ jobId: row.jobId, promptId: row.promptId, at: now - row.endedMsAgo, ended: true, interrupted: false });
      byBackend.set(row.backend, restored);
    }
    for (const [url, restored] of byBackend) {
      let held = this.byBackend.get(url);
      if (!held) this.byBackend.set(url, (held = new Map()));
      // Refilled in place: a sweep in flight keeps working on this very map.
      const since = new Map(held);
      held.clear();
      for (const prompt of restored) {
        if (held.has(prompt.promptId) || since.has(prompt.promptId)) continue;
        held.set(prompt.promptId, prompt);
        this.count++;
      }
      for (const [promptId, prompt] of since) held.set(promptId, prompt);
    }
    while (this.count > MAX_REMEMBERED) this.forgetOldest();
    return lost.length;
  }

  /** How many prompts are remembered for the backend. */
  heldOn(url: string): number {
    return this.byBackend.get(url)?.size ?? 0;
  }

  /**
   * Takes off the backend (which answers again) what it still holds of the prompts abandoned there.
   * Once `stop` aborts (the pool closes) no further request is sent, to the backend nor PostgreSQL:
   * what is left is taken off by the next process, which restores it from the ended attempts.
   */
  async sweep(url: string, client: ComfyClient, stop?: AbortSignal): Promise<void> {
    const held = this.byBackend.get(url);
    if (!held?.size || this.sweeping.has(url)) return;
    this.sweeping.add(url);
    try {
      for (const [promptId, prompt] of held) if (Date.now() - prompt.at > KEEP_MS) this.forget(held, promptId);
      await this.markEnded([...held.values()].filter((p) => !p.ended));
      const ended = [...held.values()].filter((p) => p.ended);
      if (ended.length) await this.takeOff(url, client, held, ended, stop);
    } catch (error) {
      if (stop?.aborted) return;
      this.log.warn('could not take abandoned prompts off the backend yet', { backend: url, error: (error as Error).message });
    } finally {
      this.sweeping.delete(url);
    }
  }

  /** Asks about at most ASKED_AT_ONCE prompts per sweep, by their jobs (the attempts' index). */
  private async markEnded(open: Abandoned[]): Promise<void> {
    const asked = open.slice(0, ASKED_AT_ONCE);
    if (!asked.length) return;
    const finished = await this.db.jobAttempt.findMany({
      where: { jobId: { in: [...new Set(asked.map((p) => p.jobId))] }, finishedAt: { not: null } },
      select: { jobId: true, promptId: true },
    });
    const over = new Set(finished.map((a) => `${a.jobId}/${a.promptId}`));
    for (const prompt of asked) if (over.has(`${prompt.jobId}/${prompt.promptId}`)) prompt.ended = true;
  }

  private async takeOff(url: string, client: ComfyClient, held: Map<string, Abandoned>, ended: Abandoned[], stop?: AbortSignal): Promise<void> {
    stop?.throwIfAborted();
    const queue = await readableQueue(client);
    if (!queue) return this.takeOffUnseen(url, client, held, ended);
    const running = new Set(queue.running.map((item) => item.promptId));
    const pending = new Set(queue.pending.map((item) => item.promptId));
    const toDelete = ended.filter((p) => pending.has(p.promptId)).map((p) => p.promptId);
    if (toDelete.length) {
      stop?.throwIfAborted();
      await client.deleteFromQueue(toDelete);
      this.log.info('deleted abandoned prompts from the queue of a backend back up', { backend: url, promptIds: toDelete });
    }
    for (const prompt of ended) {
      if (running.has(prompt.promptId) && !prompt.interrupted) {
        stop?.throwIfAborted();
        await client.interrupt(prompt.promptId);
        prompt.interrupted = true;
        prompt.interruptedAt = Date.now();
        this.log.info('interrupted an abandoned prompt on a backend back up', { backend: url, promptId: prompt.promptId, jobId: prompt.jobId });
      } else if (running.has(prompt.promptId) && !prompt.reported && prompt.interruptedAt !== undefined && Date.now() - prompt.interruptedAt >= (this.options.graceMs ?? DEFAULT_STOP_GRACE_MS)) {
        // Left running, it held the backend for good while every prompt sent there waited behind it.
        prompt.reported = true;
        this.log.warn('an abandoned prompt goes on running past its interrupt', { backend: url, promptId: prompt.promptId, jobId: prompt.jobId });
        this.options.onIgnored?.(url, prompt.promptId);
      }
      // Gone from its queue (ended, taken off, or lost in a restart): nothing more to do.
      if (!running.has(prompt.promptId) && !pending.has(prompt.promptId)) this.forget(held, prompt.promptId);
    }
  }

  /**
   * The backend's /queue is past the client's bound (a busy server): the prompts are deleted from
   * its queue in case they wait there, and forgotten. A running one cannot be seen, so it is not
   * interrupted (as takePromptOff does): it finishes on its own, its result unused.
   */
  private async takeOffUnseen(url: string, client: ComfyClient, held: Map<string, Abandoned>, ended: Abandoned[]): Promise<void> {
    const promptIds = ended.map((p) => p.promptId);
    await client.deleteFromQueue(promptIds);
    for (const promptId of promptIds) this.forget(held, promptId);
    this.log.warn("deleted abandoned prompts from a backend's queue without seeing it (its /queue is too large to read); a running one is left to finish", { backend: url, promptIds });
  }

  private forget(held: Map<string, Abandoned>, promptId: string): void {
    if (held.delete(promptId)) this.count--;
  }

  private forgetOldest(): void {
    let oldest: { held: Map<string, Abandoned>; prompt: Abandoned } | undefined;
    for (const held of this.byBackend.values()) {
      const first = held.values().next().value;
      if (first && (!oldest || first.at < oldest.prompt.at)) oldest = { held, prompt: first };
    }
    if (oldest) this.forget(oldest.held, oldest.prompt.promptId);
  }
}
