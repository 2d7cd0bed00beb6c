import { promoteDelayedJob } from '@anime/pipeline';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { backendIdFor } from './backend-id';
import { HAND_BACK_DELAY_CAP_MS } from './handed-back-jobs';

/**
 * How long a line outlives its last hand-back: past the longest delay (15 min, spread no further),
 * every job in it came back on its own delay and left it, so what is left is of jobs that ended
 * elsewhere (canceled, removed), and the whole line goes.
 */
export const LINE_TTL_MS = HAND_BACK_DELAY_CAP_MS + 5 * 60_000;
/**
 * Members read from a line's head per look: the jobs promoted and on their way (still in line until
 * they arrive) are skipped, the ones that ended (finished, removed) are dropped as they are passed.
 */
const HEAD_SCAN = 32;
/** Looks again for the next delayed job when the promotion of one picked is refused (another process took it first). */
const PICK_ROUNDS = 4;

/**
 * Adds the job to each line it waits in (KEYS after the first), keeping the place it had (NX), and
 * names those lines in the set KEYS[1] (every line recorded in); each lives LINE_TTL_MS from now.
 */
const RECORD = `for i = 2, #KEYS do
  redis.call('zadd', KEYS[i], 'NX', ARGV[2], ARGV[1])
  redis.call('pexpire', KEYS[i], ARGV[3])
  redis.call('sadd', KEYS[1], KEYS[i])
end
redis.call('pexpire', KEYS[1], ARGV[3])
return 0`;

/**
 * The lines to take a job out of: this process's (KEYS after the first) and every line named in the
 * set KEYS[1], so one recorded by a process with other backends (another COMFYUI_URLS) is left too.
 */
const LINES = `local lines = {}
for i = 2, #KEYS do lines[#lines + 1] = KEYS[i] end
for _, line in ipairs(redis.call('smembers', KEYS[1])) do lines[#lines + 1] = line end
`;

/** A line left empty (Redis deleted it) is no longer named in KEYS[1], which goes with the last. */
const FORGET_EMPTY = `for _, line in ipairs(lines) do
  if redis.call('exists', line) == 0 then redis.call('srem', KEYS[1], line) end
end
`;

/** Takes the job out of every line (it is back in a process), returning the place it had (the lowest), or '' when it was in none. */
const ARRIVE = `${LINES}local own = false
for _, line in ipairs(lines) do
  local score = redis.call('zscore', line, ARGV[1])
  if score then
    if not own or tonumber(score) < tonumber(own) then own = score end
    redis.call('zrem', line, ARGV[1])
  end
end
${FORGET_EMPTY}return own or ''`;

/**
 * Per line after KEYS[1] (the queue's delayed set), the place of the first job in it still delayed
 * (one a process could promote), or '' when none of its first ARGV[1] is.
 */
const HEADS = `local heads = {}
for i = 2, #KEYS do
  local head = ''
  local members = redis.call('zrange', KEYS[i], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
  for j = 1, #members, 2 do
    if redis.call('zscore', KEYS[1], members[j]) then
      head = members[j + 1]
      break
    end
  end
  heads[i - 1] = head
end
return heads`;

/**
 * The first ARGV[1] jobs of the line KEYS[1] still delayed in the queue (KEYS[2], its delayed set),
 * in order; members whose job ended (its hash gone, or finished) are dropped on the way. A member
 * neither delayed nor ended is on its way to a process (promoted, or its delay ended): left in line.
 */
const PICK = `local picked = {}
local members = redis.call('zrange', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for _, member in ipairs(members) do
  if redis.call('zscore', KEYS[2], member) then
    picked[#picked + 1] = member
    if #picked >= tonumber(ARGV[1]) then break end
  else
    local job = ARGV[3] .. member
    if redis.call('exists', job) == 0 or redis.call('hexists', job, 'finishedOn') == 1 then redis.call('zrem', KEYS[1], member) end
  end
end
return picked`;

const REMOVE = `${LINES}for _, line in ipairs(lines) do redis.call('zrem', line, ARGV[1]) end
${FORGET_EMPTY}return 0`;

/**
 * The render jobs handed back to their queue by every orchestrator sharing it, as a line per backend
 * in Redis (a sorted set under the queue prefix, members the queue job ids, scored by handBackScore:
 * rank, then first hand-back): a job joins the line of each backend it waited for once it is delayed, and leaves every line when
 * it is back in a process's acquire(). So any process where a place comes free on a backend (or a
 * process started since the jobs were handed back) promotes the first delayed job of that backend's
 * line, rather than leaving it to its own delay (up to 15 min) with the backend idle; and a job back
 * on its own delay (or fresh from the queue) sees whether one ahead of it in line is still delayed.
 * Bounded: a job leaves the lines when it comes back, a job that ended is dropped once reached from
 * the head, and a line with no hand-back for LINE_TTL_MS goes whole.
 */
export class SharedHandBacks {
  constructor(
    private readonly deps: {
      redis: Redis;
      /** The render queue: its jobs are promoted by id, its delayed set read. */
      queue: Queue;
      queuePrefix: string;
      /** Every configured backend: a job coming back leaves each one's line. */
      urls: string[];
    },
  ) {}

  /** The line of jobs handed back for the backend at `url`. */
  lineOf(url: string): string {
    return `${this.deps.queuePrefix}:handed-back:${backendIdFor(url)}`;
  }

  /** The set naming every line a job was recorded in (by any process), for leaving lines of backends this process does not have. */
  private get linesKey(): string {
    return `${this.deps.queuePrefix}:handed-back:lines`;
  }

  /** The job `jobId`, delayed now, joins the lines of `backends` at `score` (or keeps the place it has there). */
  async record(jobId: string, backends: string[], score: number): Promise<void> {
    if (!backends.length) return;
    await this.deps.redis.eval(RECORD, backends.length + 1, this.linesKey, ...backends.map((url) => this.lineOf(url)), jobId, String(score), String(LINE_TTL_MS));
  }

  /** The job `jobId` is back in acquire(): it leaves every line; the place it had in them, if any. */
  async arrived(jobId: string): Promise<number | undefined> {
    const { urls } = this.deps;
    const own = (await this.deps.redis.eval(ARRIVE, urls.length + 1, this.linesKey, ...urls.map((url) => this.lineOf(url)), jobId)) as string;
    return own ? Number(own) : undefined;
  }

  /** Per backend of `urls`, the place in its line of the first job still delayed there (none when no such job is near its head). */
  async heads(urls: string[]): Promise<Map<string, number>> {
    const heads = (await this.deps.redis.eval(HEADS, urls.length + 1, this.deps.queue.keys.delayed, ...urls.map((url) => this.lineOf(url)), String(HEAD_SCAN))) as string[];
    const found = new Map<string, number>();
    urls.forEach((url, i) => {
      if (heads[i]) found.set(url, Number(heads[i]));
    });
    return found;
  }

  /**
   * Promotes up to `count` delayed jobs of the line of `url`, the first in line first; a promotion
   * refused (its delay ended, or another process promoted it first) is made up by the next in line.
   * The ids promoted.
   */
  async promoteFor(url: string, count: number): Promise<string[]> {
    const promoted: string[] = [];
    for (let round = 0; promoted.length < count && round < PICK_ROUNDS; round++) {
      const picked = (await this.deps.redis.eval(PICK, 2, this.lineOf(url), this.deps.queue.keys.delayed, String(count - promoted.length), String(HEAD_SCAN), this.deps.queue.toKey(''))) as string[];
      if (!picked.length) break;
      for (const jobId of picked) {
        // Refused for a job no longer delayed: the next in line takes its place.
        if (await promoteDelayedJob(this.deps.queue, jobId)) promoted.push(jobId);
      }
    }
    return promoted;
  }

  /** The job `jobId` ended without coming back (its generation was canceled): it leaves every line. */
  async remove(jobId: string): Promise<void> {
    await this.deps.redis.eval(REMOVE, this.deps.urls.length + 1, this.linesKey, ...this.deps.urls.map((url) => this.lineOf(url)), jobId);
  }
}
