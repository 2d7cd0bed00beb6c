import { ComfyClient } from '@anime/comfyui-client';
import type { ComfyOutputRef } from '@anime/contracts';
import type { Logger } from '@anime/logger';

type OutputFetcher = (backend: string, output: ComfyOutputRef, signal?: AbortSignal) => Promise<Buffer>;

/**
 * Fetches outputs through `/view` of the backend that wrote them, with one HTTP-only ComfyClient
 * per backend (its WebSocket is never opened): its kept-alive connections and its faults
 * (unreachable or a 5xx is ComfyUnreachableError, another status than 200 is ComfyHttpError, a
 * file that stalls or trickles is ComfyTransferError).
 * Aborting `signal` cuts the fetch off with the signal's reason.
 */
export function createOutputFetcher(log?: Logger): OutputFetcher & { close: () => void } {
  const clients = new Map<string, ComfyClient>();
  const fetchOutput = (backend: string, output: ComfyOutputRef, signal?: AbortSignal): Promise<Buffer> => {
    let client = clients.get(backend);
    if (!client) {
      client = new ComfyClient({ baseUrl: backend, log });
      clients.set(backend, client);
    }
    return client.view({ filename: output.filename, subfolder: output.subfolder, type: output.type }, { signal });
  };
  return Object.assign(fetchOutput, {
    close: () => {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  });
}
