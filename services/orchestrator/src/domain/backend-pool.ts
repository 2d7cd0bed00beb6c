import { ComfyClient } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';

const IPADAPTER_CLASSES = ['IPAdapterUnifiedLoader', 'IPAdapter'];

/**
 * The ComfyUI backends from COMFYUI_URLS, one long-lived client (and WebSocket) each.
 * Picking is round-robin for now; health- and model-aware routing comes with the pool issue.
 */
export class BackendPool {
  private readonly clients = new Map<string, ComfyClient>();
  private next = 0;
  private readonly ipAdapter = new Map<string, Promise<boolean>>();

  constructor(urls: string[], log: Logger) {
    for (const url of urls) this.clients.set(url, new ComfyClient({ baseUrl: url, log }));
  }

  async connect(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.connect().catch(() => undefined)));
  }

  pick(): { url: string; client: ComfyClient } {
    const urls = [...this.clients.keys()];
    const url = urls[this.next++ % urls.length];
    return { url, client: this.clients.get(url)! };
  }

  /** The client for a backend a job already used; null when it is no longer configured. */
  get(url: string): ComfyClient | null {
    return this.clients.get(url) ?? null;
  }

  /**
   * Whether the backend has the IP-Adapter custom nodes (`/object_info/<class>` answers `{}` for a
   * class it lacks). Asked once per backend; a failed answer is not remembered.
   */
  hasIpAdapter(url: string): Promise<boolean> {
    let answer = this.ipAdapter.get(url);
    if (!answer) {
      const client = this.clients.get(url);
      if (!client) return Promise.resolve(false);
      answer = Promise.all(IPADAPTER_CLASSES.map((name) => client.objectInfo(name).then((info) => name in info))).then((found) => found.every(Boolean));
      answer.catch(() => this.ipAdapter.delete(url));
      this.ipAdapter.set(url, answer);
    }
    return answer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}
