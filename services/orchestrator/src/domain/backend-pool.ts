import { ComfyClient } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';

const IPADAPTER_CLASSES = ['IPAdapterUnifiedLoader', 'IPAdapter'];

/** A backend held for one job while this process drives a prompt on it. Release it once, when done. */
export interface BackendLease {
  url: string;
  client: ComfyClient;
  release(): void;
}

/**
 * The ComfyUI backends from COMFYUI_URLS, one long-lived client (and WebSocket) each.
 * A new job goes to the backend this process drives the fewest prompts on (ties in turn), so a
 * backend that finished early is fed first. Health- and model-aware routing comes with the pool issue.
 */
export class BackendPool {
  private readonly clients = new Map<string, ComfyClient>();
  private readonly inFlight = new Map<string, number>();
  private next = 0;
  private readonly ipAdapter = new Map<string, Promise<boolean>>();

  constructor(urls: string[], log: Logger) {
    for (const url of urls) this.clients.set(url, new ComfyClient({ baseUrl: url, log }));
  }

  async connect(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.connect().catch(() => undefined)));
  }

  /** The least busy backend, held for one job. */
  acquire(): BackendLease {
    const urls = [...this.clients.keys()];
    const start = this.next++ % urls.length;
    const rotated = [...urls.slice(start), ...urls.slice(0, start)];
    const url = rotated.reduce((best, candidate) => (this.load(candidate) < this.load(best) ? candidate : best));
    return this.lease(url);
  }

  /** The backend a job already runs on, held again (after a restart); null when it is no longer configured. */
  acquireExisting(url: string): BackendLease | null {
    return this.clients.has(url) ? this.lease(url) : null;
  }

  /** Prompts this process drives on the backend right now. */
  load(url: string): number {
    return this.inFlight.get(url) ?? 0;
  }

  private lease(url: string): BackendLease {
    this.inFlight.set(url, this.load(url) + 1);
    let released = false;
    return {
      url,
      client: this.clients.get(url)!,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight.set(url, this.load(url) - 1);
      },
    };
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
