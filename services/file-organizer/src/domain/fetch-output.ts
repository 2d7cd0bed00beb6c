import { ComfyClient } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';
import type { ComfyOutputRef } from '@anime/contracts';

/** Fetches outputs through `/view` of the backend that wrote them; one HTTP-only client per backend. */
export function createOutputFetcher(log: Logger) {
  const clients = new Map<string, ComfyClient>();
  return async (backend: string, output: ComfyOutputRef): Promise<Buffer> => {
    let client = clients.get(backend);
    if (!client) {
      client = new ComfyClient({ baseUrl: backend, log });
      clients.set(backend, client);
    }
    return client.view({ filename: output.filename, subfolder: output.subfolder, type: output.type });
  };
}
