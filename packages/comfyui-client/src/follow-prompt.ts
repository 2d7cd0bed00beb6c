import { ComfyExecutionError, type ExecutionErrorEvent } from './errors/comfy-execution-error';
import { ComfyInterruptedError } from './errors/comfy-interrupted-error';
import { outputFilesOf, terminalMessage, wasCached } from './history-outputs';
import type { FollowOptions, HistoryEntry, RunResult, WsMessage } from './types';

export interface FollowPorts {
  onMessage(listener: (message: WsMessage) => void): () => void;
  history(promptId: string): Promise<HistoryEntry | null>;
  interrupt(promptId: string): Promise<void>;
}

/**
 * Follows one prompt to its end over two channels (comfyui-protocol.md §6.4, §10): WebSocket
 * events filtered by prompt_id for progress and low latency, and a /history poll as a safety net
 * for frames the socket missed. The entry in /history decides the outcome.
 *
 * Must be called (it subscribes synchronously) BEFORE the prompt is posted, so a prompt that
 * finishes from cache at once is not missed.
 */
export function followPrompt(ports: FollowPorts, promptId: string, options: FollowOptions = {}): { done: Promise<RunResult>; cancel: () => void } {
  let settle!: { resolve: (r: RunResult) => void; reject: (e: Error) => void };
  const done = new Promise<RunResult>((resolve, reject) => (settle = { resolve, reject }));
  let finished = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let startedSent = false;
  let progressChain: Promise<void> = Promise.resolve();

  const cleanup = () => {
    finished = true;
    unsubscribe();
    if (pollTimer) clearTimeout(pollTimer);
    options.signal?.removeEventListener('abort', onAbort);
  };
  const fail = (error: Error) => {
    if (finished) return;
    cleanup();
    progressChain.finally(() => settle.reject(error));
  };
  const succeed = (result: RunResult) => {
    if (finished) return;
    cleanup();
    progressChain.finally(() => settle.resolve(result));
  };

  /** Settles from the history entry if there is one; true when settled. */
  const settleFromHistory = async (): Promise<boolean> => {
    const entry = await ports.history(promptId);
    if (!entry || finished) return false;
    const terminal = terminalMessage(entry);
    if (entry.status?.status_str === 'success' || entry.status?.completed) {
      succeed({ promptId, outputs: outputFilesOf(entry), cached: wasCached(entry), history: entry });
    } else if (terminal?.[0] === 'execution_interrupted') {
      fail(new ComfyInterruptedError(promptId));
    } else if (terminal?.[0] === 'execution_error') {
      fail(new ComfyExecutionError(terminal[1] as ExecutionErrorEvent));
    } else if (entry.status) {
      fail(new ComfyExecutionError({ prompt_id: promptId, exception_message: `prompt ended with status ${entry.status.status_str}` }));
    } else {
      return false;
    }
    return true;
  };

  const poll = (delayMs: number, triesLeft = Infinity) => {
    if (finished) return;
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => {
      try {
        if (await settleFromHistory()) return;
      } catch {
        // The backend may be restarting; keep polling.
      }
      if (triesLeft > 1) poll(delayMs, triesLeft - 1);
      else poll(options.pollIntervalMs ?? 1_000);
    }, delayMs);
    pollTimer.unref?.();
  };

  const unsubscribe = ports.onMessage((message) => {
    const data = message.data ?? {};
    if (data.prompt_id !== promptId || finished) return;
    switch (message.type) {
      case 'execution_start':
        if (!startedSent && options.onStarted) {
          startedSent = true;
          progressChain = progressChain.then(() => options.onStarted!()).catch(() => undefined);
        }
        break;
      case 'progress':
        if (options.onProgress) {
          const progress = { value: Number(data.value), max: Number(data.max), node: (data.node as string | undefined) ?? null };
          progressChain = progressChain.then(() => options.onProgress!(progress)).catch(() => undefined);
        }
        break;
      case 'execution_error':
      case 'execution_interrupted':
      case 'execution_success':
        // History is written after these and before `executing {node: null}`: poll it fast.
        poll(30, 100);
        break;
      case 'executing':
        if (data.node === null) poll(0, 100);
        break;
    }
  });

  const onAbort = () => {
    void ports.interrupt(promptId).catch(() => undefined);
    fail(new ComfyInterruptedError(promptId));
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort);
  poll(options.pollIntervalMs ?? 1_000);

  return { done, cancel: () => fail(new ComfyInterruptedError(promptId)) };
}
