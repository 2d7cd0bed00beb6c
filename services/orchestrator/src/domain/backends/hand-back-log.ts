import type { Logger } from '@anime/logger';

/** How often at most a process says how many render jobs it holds handed back, while it hands jobs back. */
export const HAND_BACK_SUMMARY_EVERY_MS = 60_000;

/** What the process holds handed back when a summary is due. */
export interface HandedBackState {
  /** Jobs held handed back (delayed, promoted and on their way, or back and waiting for a place). */
  waiting: number;
  /** Per backend url, how many of them could take a place there. */
  backends: Record<string, number>;
  /** The longest delay a job handed back now gets. */
  longestDelayMs: number;
}

export interface HandBackLog {
  /**
   * A render job was handed back (delayed in its queue): `first`, its first hand-back (by any
   * process, as far as its queue job tells). At most once per interval, on a hand-back, one info line
   * says how many wait; `state` is read only then.
   */
  handedBack(first: boolean, state: () => HandedBackState): void;
}

/**
 * The lines of a backlog handed back to its queue. Each hand-back used to be one info line: with
 * more than 300 handed back the delays bring them back at about 10 a second, each return that finds
 * no place handed back again, some 36,000 info lines an hour per backlog. Now a job's first
 * hand-back is at info (the stage worker's "stage job deferred to its queue", with its id and why),
 * the later ones at debug, and this line a minute, from the first minute of hand-backs on, says
 * how many wait. A minute without a hand-back starts anew (no line until a minute of hand-backs).
 */
export function createHandBackLog(log: Logger, options: { everyMs?: number; now?: () => number } = {}): HandBackLog {
  const everyMs = options.everyMs ?? HAND_BACK_SUMMARY_EVERY_MS;
  const now = options.now ?? Date.now;
  let since: number | undefined;
  let lastAt = 0;
  let handBacks = 0;
  let firsts = 0;
  return {
    handedBack(first, state) {
      const at = now();
      if (since === undefined || at - lastAt > everyMs) {
        since = at;
        handBacks = 0;
        firsts = 0;
      }
      lastAt = at;
      handBacks++;
      if (first) firsts++;
      if (at - since < everyMs) return;
      const { waiting, backends, longestDelayMs } = state();
      const jobs = waiting === 1 ? 'render job waits' : 'render jobs wait';
      log.info(`${waiting} ${jobs} for a backend place`, { waiting, backends, handBacks, firstHandBacks: firsts, longestDelayMs, everyS: Math.round(everyMs / 1000) });
      since = at;
      handBacks = 0;
      firsts = 0;
    },
  };
}
