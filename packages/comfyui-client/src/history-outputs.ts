import type { HistoryEntry, OutputFile } from './types';

/**
 * Files a history entry lists, in node order. Any list item with a `filename` is a file (images,
 * gifs, audio…); other UI keys (`text`, `animated`) are not.
 */
export function outputFilesOf(entry: HistoryEntry): OutputFile[] {
  const files: OutputFile[] = [];
  const nodeIds = Object.keys(entry.outputs ?? {}).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  for (const nodeId of nodeIds) {
    for (const value of Object.values(entry.outputs[nodeId] ?? {})) {
      if (!Array.isArray(value)) continue;
      for (const item of value) {
        if (item && typeof item === 'object' && typeof (item as { filename?: unknown }).filename === 'string') {
          const f = item as { filename: string; subfolder?: string; type?: string };
          files.push({ nodeId, filename: f.filename, subfolder: f.subfolder ?? '', type: f.type ?? 'output' });
        }
      }
    }
  }
  return files;
}

/** Whether ComfyUI answered every node from its cache (`execution_cached` lists them all). */
export function wasCached(entry: HistoryEntry): boolean {
  const cached = entry.status?.messages?.find(([type]) => type === 'execution_cached')?.[1] as { nodes?: string[] } | undefined;
  const graph = entry.prompt?.[2] ?? {};
  return Boolean(cached?.nodes?.length) && Object.keys(graph).every((id) => cached!.nodes!.includes(id));
}

/** The terminal message of a finished entry: success, error or interrupted. */
export function terminalMessage(entry: HistoryEntry): [string, Record<string, unknown>] | undefined {
  const messages = entry.status?.messages ?? [];
  return [...messages].reverse().find(([type]) => ['execution_success', 'execution_error', 'execution_interrupted'].includes(type));
}
