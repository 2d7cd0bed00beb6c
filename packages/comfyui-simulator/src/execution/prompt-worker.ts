import type { EventSink } from './event-sink';
import type { InterruptFlag, PromptExecutor } from './prompt-executor';
import type { PromptQueue } from './prompt-queue';

/** main.prompt_worker: takes one prompt at a time, records its history, then sends the final executing{node:null}. */
export class PromptWorker {
  private loop: Promise<void> | undefined;
  private closed = false;
  private currentPromptId: string | undefined;
  /** The free_memory flag set by POST /free and not yet applied (unload_models has nothing to unload here). */
  private freeMemory = false;

  constructor(
    private readonly queue: PromptQueue,
    private readonly executor: PromptExecutor,
    private readonly sink: EventSink,
    private readonly interruptFlag: InterruptFlag,
    private readonly log: (line: string) => void,
  ) {}

  /** Called after a put: starts draining the queue unless a drain is already running. */
  wake(): void {
    if (this.loop || this.closed) return;
    this.loop = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  /** nodes.interrupt_processing(): whatever runs (nothing, when idle). */
  interrupt(): void {
    this.interruptFlag.requested = true;
  }

  /** The targeted /interrupt: only while the running prompt's id equals it (`item[1] == prompt_id`, a str only equals a str). */
  interruptPrompt(promptId: unknown): void {
    if (this.currentPromptId !== undefined && promptId === this.currentPromptId) this.interruptFlag.requested = true;
  }

  /**
   * POST /free with free_memory: PromptQueue.set_flag. The worker reads the flags after each prompt, or
   * at once when idle (set_flag wakes its wait); free_memory resets the executor, so its output cache is gone.
   */
  requestFreeMemory(): void {
    this.freeMemory = true;
    if (!this.loop) this.applyFlags();
  }

  private applyFlags(): void {
    if (this.freeMemory) this.executor.reset();
    this.freeMemory = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.interruptFlag.requested = true;
    await this.loop;
  }

  private async drain(): Promise<void> {
    try {
      for (let taken = this.queue.take(); taken && !this.closed; taken = this.queue.take()) {
        const { item, taskId } = taken;
        this.currentPromptId = item.promptId;
        try {
          const outcome = await this.executor.execute(item);
          this.queue.taskDone(taskId, {
            outputs: outcome.outputs,
            meta: outcome.meta,
            status: { status_str: outcome.success ? 'success' : 'error', completed: outcome.success, messages: outcome.messages },
          });
        } catch (error) {
          this.log(`simulator bug while running ${item.promptId}: ${(error as Error).stack ?? error}`);
          this.queue.taskDone(taskId, { outputs: {}, meta: {}, status: { status_str: 'error', completed: false, messages: [] } });
        }
        this.currentPromptId = undefined;
        const clientId = typeof item.extraData.client_id === 'string' ? item.extraData.client_id : null;
        if (clientId !== null) this.sink.send('executing', { node: null, prompt_id: item.promptId }, clientId);
        this.sink.setExecution(null, null);
        this.applyFlags();
      }
    } finally {
      this.applyFlags();
      this.loop = undefined;
    }
  }
}
