import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { ClientIdLeases } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';
import { within } from '@anime/pipeline';

/**
 * How long a hold outlives its last renewal. Longer than a render job of a frozen process takes to
 * be handed to another (BullMQ lockDuration 10 s, stalled check every 5 s): a process that keeps
 * its jobs keeps its ids, and one that lost its jobs to others has no prompt left to hear.
 */
export const CLIENT_ID_LEASE_MS = 15_000;
const RENEW_EVERY_MS = 5_000;
/** Redis must answer a hold this fast, or the answer is no: never listen under an id while unsure. */
const ANSWER_WITHIN_MS = 2_000;

/** Takes the id when free, renews it when ours (1); leaves another holder's alone (0). */
const HOLD = `local holder = redis.call('get', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

/**
 * Which orchestrator process may listen under each ComfyUI clientId (see ClientIdLeases): a key
 * per id under the queue prefix, holding its holder's name. A process holds the ids of its own
 * sockets from its start, renewed every few seconds, and gives them up on a clean stop; a process
 * resuming a prompt sent under another id gets that id only once nobody holds it (its owner dead or
 * stopped, no other process watching it).
 */
export class RedisClientIdLeases implements ClientIdLeases {
  /** Also names the holder for whoever reads the keys. */
  private readonly holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  /** Own ids the last renewal could not hold (warned about once). */
  private readonly unheld = new Set<string>();

  constructor(
    private readonly deps: {
      redis: Redis;
      queuePrefix: string;
      log: Logger;
      /** The ids this process's own sockets use now (a socket may change its id: see ComfySocket). */
      ownIds: () => string[];
      leaseMs?: number;
    },
  ) {
    this.leaseMs = deps.leaseMs ?? CLIENT_ID_LEASE_MS;
  }

  /** Holds the own ids now, then renews them until stop(). */
  async start(): Promise<void> {
    await this.renewOwn();
    this.timer = setInterval(() => void this.renewOwn(), Math.min(RENEW_EVERY_MS, this.leaseMs / 3));
    this.timer.unref();
  }

  async hold(clientId: string): Promise<boolean> {
    return (await within(this.deps.redis.eval(HOLD, 1, this.key(clientId), this.holder, String(this.leaseMs)), ANSWER_WITHIN_MS)) === 1;
  }

  async release(clientId: string): Promise<void> {
    await within(this.deps.redis.eval(RELEASE, 1, this.key(clientId), this.holder), ANSWER_WITHIN_MS);
  }

  /** Gives the own ids up: call once the sockets are closed, so a restarted process hears their prompts at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    await Promise.all(this.deps.ownIds().map((id) => this.release(id)));
  }

  private key(clientId: string): string {
    return `${this.deps.queuePrefix}:comfyui-client-id:${clientId}`;
  }

  /** One renewal at a time: while Redis is away, renewals do not pile up behind it. */
  private renewOwn(): Promise<void> {
    this.renewing ??= this.renewAll().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewAll(): Promise<void> {
    const ids = this.deps.ownIds();
    const held = await Promise.all(ids.map((id) => this.hold(id)));
    ids.forEach((id, i) => {
      if (held[i]) this.unheld.delete(id);
      else if (!this.unheld.has(id)) {
        this.unheld.add(id);
        // Held by another: this process went unheard past its lease (frozen, or cut from Redis),
        // its jobs were handed over, and a process resuming one listens under the id. Left to it:
        // our socket there hears nothing now, and is dialled again under a new id once a prompt
        // we post brings no status (ComfySocket.expectMessageSince).
        this.deps.log.warn('could not hold our ComfyUI clientId: another process holds it, or Redis did not answer', { clientId: id });
      }
    });
  }
}
