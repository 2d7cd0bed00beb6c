import { ComfyExecutionError } from '../errors/comfy-execution-error';
import { ComfyInterruptedError } from '../errors/comfy-interrupted-error';
import type { HistoryEntry, OutputFile, RunResult } from '../types';

/** Every file named by the output nodes' UI dicts (images, gifs, audio…); entries without a filename aren't files. */
export function outputFiles(entry: HistoryEntry): OutputFile[] {
  const files: OutputFile[] = [];
  for (const [nodeId, ui] of Object.entries(entry.outputs ?? {})) {
    for (const items of Object.values(ui ?? {})) {
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        if (item && typeof item === 'object' && typeof item.filename === 'string') {
          files.push({ nodeId, filename: item.filename, subfolder: String(item.subfolder ?? ''), type: String(item.type ?? 'output') });
        }
      }
    }
  }
  return files;
}

/** True when every output node was served from ComfyUI's cache (its execution_cached list). */
export function wasCached(entry: HistoryEntry): boolean {
  const cached = entry.status?.messages?.find(([type]) => type === 'execution_cached')?.[1]?.nodes;
  const outputs = Object.keys(entry.outputs ?? {});
  return Array.isArray(cached) && outputs.length > 0 && outputs.every((id) => cached.includes(id));
}

/**
 * The outcome recorded in history. An interrupt also reads "error": the last status message tells
 * the two apart. A success may carry an execution_error from an ExecutionBlocker; it is still a success.
 */
export function settleFromHistory(promptId: string, entry: HistoryEntry): RunResult {
  const status = entry.status;
  if (!status || status.status_str === 'success' || status.completed) {
    return { promptId, outputs: outputFiles(entry), cached: wasCached(entry), history: entry };
  }
  const last = [...(status.messages ?? [])].reverse().find(([type]) => type === 'execution_error' || type === 'execution_interrupted');
  if (last?.[0] === 'execution_interrupted') throw new ComfyInterruptedError(promptId, last[1]);
  throw new ComfyExecutionError(promptId, last?.[1] ?? { exception_message: `ComfyUI reports prompt ${promptId} failed without an error message` });
}
