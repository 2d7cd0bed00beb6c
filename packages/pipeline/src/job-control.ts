import type { Redis } from 'ioredis';
import { backendChangesChannel, jobControlChannel, type BackendChangeMessage, type JobControlMessage } from '@anime/contracts';

/**
 * The gateway's side of job control: tells whichever orchestrator drives a generation to stop it.
 * Best effort by design: the request is recorded in PostgreSQL first (`cancelRequestedAt`), which
 * the orchestrator also reads, so a message lost here only delays the cancel.
 */
export class JobControlPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
  ) {}

  async requestCancel(generationId: string): Promise<void> {
    const message: JobControlMessage = { type: 'cancel', generationId };
    await this.redis.publish(jobControlChannel(this.queuePrefix), JSON.stringify(message)).catch(() => undefined);
  }

  /** Tells every orchestrator that a backend's drain flag changed in PostgreSQL (written before this). */
  async backendChanged(backendId: string): Promise<void> {
    const message: BackendChangeMessage = { type: 'backend-changed', backendId };
    await this.redis.publish(backendChangesChannel(this.queuePrefix), JSON.stringify(message)).catch(() => undefined);
  }
}
