import type { HistoryEntry, QueueItem } from '../types';
import { heapify, heappop, heappush, pyStrLess } from './py-heapq';
import { queueTuple } from './queue-tuple';

const MAXIMUM_HISTORY_SIZE = 10_000;

/**
 * The heap's `<` on (number, prompt_id, …) tuples. Two items with the same number and prompt_id (a
 * reused id posted with an explicit number) would go on to compare the prompt dicts, which raises in
 * Python; here they are simply not less than each other.
 */
function before(a: QueueItem, b: QueueItem): boolean {
  if (a.number !== b.number) return a.number < b.number;
  return pyStrLess(a.promptId, b.promptId);
}

/**
 * execution.PromptQueue: the pending items in a heapq heap keyed by (number, prompt_id), the running
 * one, and the history. /queue lists the heap's array as it stands (get_current_queue_volatile copies
 * self.queue), which is not sorted past its first item.
 */
export class PromptQueue {
  private pending: QueueItem[] = [];
  private readonly running = new Map<number, QueueItem>();
  private taskCounter = 0;
  private readonly history = new Map<string, HistoryEntry>();

  /** `onUpdated` broadcasts a status event, as ComfyUI does on every put, take, finish, clear and delete. */
  constructor(private readonly onUpdated: () => void) {}

  put(item: QueueItem): void {
    heappush(this.pending, item, before);
    this.onUpdated();
  }

  take(): { item: QueueItem; taskId: number } | undefined {
    const item = heappop(this.pending, before);
    if (!item) return undefined;
    const taskId = this.taskCounter++;
    this.running.set(taskId, item);
    this.onUpdated();
    return { item, taskId };
  }

  taskDone(taskId: number, result: Pick<HistoryEntry, 'outputs' | 'meta' | 'status'>): void {
    const item = this.running.get(taskId);
    if (!item) return;
    this.running.delete(taskId);
    if (this.history.size > MAXIMUM_HISTORY_SIZE) this.history.delete(this.history.keys().next().value!);
    this.history.set(item.promptId, {
      prompt: queueTuple(item),
      outputs: result.outputs,
      status: result.status,
      meta: result.meta,
    });
    this.onUpdated();
  }

  tasksRemaining(): number {
    return this.pending.length + this.running.size;
  }

  runningItems(): QueueItem[] {
    return [...this.running.values()];
  }

  pendingItems(): QueueItem[] {
    return [...this.pending];
  }

  wipe(): void {
    this.pending = [];
    this.onUpdated();
  }

  /**
   * delete_queue_item: the first match in heap order goes, then the heap is rebuilt (pop(x), heapify).
   * Only pending items can go; a quirk kept from ComfyUI: removing the last one also announces a wipe.
   */
  deletePending(promptId: unknown): boolean {
    const index = this.pending.findIndex((item) => item.promptId === promptId);
    if (index === -1) return false;
    if (this.pending.length === 1) this.wipe();
    else {
      this.pending.splice(index, 1);
      heapify(this.pending, before);
    }
    this.onUpdated();
    return true;
  }

  /** get_history: all, one id (else {}), or a window: `max_items` alone means the newest N. */
  getHistory(options: { promptId?: string; maxItems?: number; offset?: number } = {}): Record<string, HistoryEntry> {
    if (options.promptId !== undefined) {
      const entry = this.history.get(options.promptId);
      // No structuredClone: the caller serialises at once, and a clone would drop the Python number
      // forms and key order the prompt carries (py-json-marks).
      return entry ? { [options.promptId]: entry } : {};
    }
    const { maxItems } = options;
    let offset = options.offset ?? -1;
    if (offset < 0 && maxItems !== undefined) offset = this.history.size - maxItems;
    const out: Record<string, HistoryEntry> = {};
    let index = 0;
    let count = 0;
    for (const [promptId, entry] of this.history) {
      if (index >= offset) {
        out[promptId] = entry;
        count += 1;
        if (maxItems !== undefined && count >= maxItems) break;
      }
      index += 1;
    }
    return out;
  }

  wipeHistory(): void {
    this.history.clear();
  }

  deleteHistory(promptId: unknown): void {
    if (typeof promptId === 'string') this.history.delete(promptId);
  }
}
