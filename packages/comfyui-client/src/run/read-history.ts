import { ComfyExecutionError } from '../errors/comfy-execution-error';
import { ComfyHttpError } from '../errors/comfy-http-error';
import { ComfyInterruptedError } from '../errors/comfy-interrupted-error';
import { isJsonObject } from '../json-object';
import { cut, serverText, shown } from '../server-text';
import type { HistoryEntry, OutputFile, RunResult, StatusMessage } from '../types';

/**
 * An output item as listed: a file name, and its subfolder and type as sent. ComfyUI sends them as
 * text (a missing one is '' and 'output'); anything else names no file it could serve.
 */
interface ListedOutput {
  nodeId: string;
  filename: string;
  subfolder: unknown;
  type: unknown;
}

/** Every item of the output nodes' UI dicts (images, gifs, audio…) with a file name; entries without one aren't files. */
function listedOutputs(entry: HistoryEntry): ListedOutput[] {
  const listed: ListedOutput[] = [];
  for (const [nodeId, ui] of Object.entries(entry.outputs ?? {})) {
    for (const items of Object.values(ui ?? {})) {
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        if (item && typeof item === 'object' && typeof item.filename === 'string') listed.push({ nodeId, filename: item.filename, subfolder: item.subfolder ?? '', type: item.type ?? 'output' });
      }
    }
  }
  return listed;
}

/** The file a listed item names; none when its subfolder or type is not text (an object, a number). */
const namedFile = ({ nodeId, filename, subfolder, type }: ListedOutput): OutputFile | undefined =>
  typeof subfolder === 'string' && typeof type === 'string' ? { nodeId, filename, subfolder, type } : undefined;

/**
 * Every file named by the output nodes' UI dicts, each once (a file a node lists twice is one
 * file); entries without a filename, or with a subfolder or type that is not text, aren't files.
 */
export function outputFiles(entry: HistoryEntry): OutputFile[] {
  const files: OutputFile[] = [];
  const seen = new Set<string>();
  for (const listed of listedOutputs(entry)) {
    const file = namedFile(listed);
    if (!file) continue;
    const key = JSON.stringify([file.nodeId, file.type, file.subfolder, file.filename]);
    if (seen.has(key)) continue;
    seen.add(key);
    files.push(file);
  }
  return files;
}

/** NUL or a lone UTF-16 surrogate: no file name or node id has them, and PostgreSQL cannot store them in JSON. */
export const UNNAMEABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Longer than any path a file system gives a file in ComfyUI's folders (Linux: 4096 bytes for a whole path). */
const MAX_OUTPUT_NAME_CHARS = 4_096;
/** No file has such a name: NUL, a lone surrogate, or longer than any path (which would be stored, sent in every event and asked of /view). */
const unnameable = (text: string) => text.length > MAX_OUTPUT_NAME_CHARS || UNNAMEABLE.test(text);

/** A history entry's output files; an output that no file could be named by (a subfolder or type not text, a name no file has) is ComfyUI breaking the protocol. */
function checkedOutputFiles(promptId: string, entry: HistoryEntry): OutputFile[] {
  const bad = listedOutputs(entry).find((listed) => {
    const file = namedFile(listed);
    return !file || unnameable(file.nodeId) || unnameable(file.filename) || unnameable(file.subfolder) || unnameable(file.type) || file.filename === '';
  });
  if (bad) {
    const path = `/history/${promptId}`;
    throw new ComfyHttpError('GET', path, 200, undefined, `ComfyUI's history of prompt ${promptId} lists an output of node ${cut(bad.nodeId)} that names no file it could serve (${shown(bad.filename)} in ${shown(serverText(bad.subfolder))})`);
  }
  return outputFiles(entry);
}

/**
 * The status messages of a history entry, each `[type, data]` as ComfyUI records them (its data an
 * object, as a socket frame's must be). A list of another shape (not an array, items that are not
 * such pairs) is no server's: it is read as no message, rather than failing the follow with a
 * TypeError (an internal error, tried again and again).
 */
function statusMessages(entry: HistoryEntry): StatusMessage[] {
  const messages: unknown = entry.status?.messages;
  return Array.isArray(messages) ? messages.filter((message): message is StatusMessage => Array.isArray(message) && typeof message[0] === 'string' && isJsonObject(message[1])) : [];
}

/** True when every output node was served from ComfyUI's cache (its execution_cached list). */
export function wasCached(entry: HistoryEntry): boolean {
  const cached = statusMessages(entry).find(([type]) => type === 'execution_cached')?.[1]?.nodes;
  const outputs = Object.keys(entry.outputs ?? {});
  return Array.isArray(cached) && outputs.length > 0 && outputs.every((id) => cached.includes(id));
}

/**
 * Whether the history entry records a prompt that ended well: a success (which may carry an
 * execution_error from an ExecutionBlocker), or an entry of a server too old to record a status.
 */
export function endedWell(entry: HistoryEntry): boolean {
  const status = entry.status;
  return !status || status.status_str === 'success' || status.completed;
}

/**
 * The outcome recorded in history. An interrupt also reads "error": the last status message tells
 * the two apart.
 */
export function settleFromHistory(promptId: string, entry: HistoryEntry): RunResult {
  const status = entry.status;
  if (!status || endedWell(entry)) {
    return { promptId, outputs: checkedOutputFiles(promptId, entry), cached: wasCached(entry), history: entry };
  }
  const last = statusMessages(entry).reverse().find(([type]) => type === 'execution_error' || type === 'execution_interrupted');
  if (last?.[0] === 'execution_interrupted') throw new ComfyInterruptedError(promptId, last[1]);
  throw new ComfyExecutionError(promptId, last?.[1] ?? { exception_message: `ComfyUI reports prompt ${promptId} failed without an error message` });
}
