import { LineEvery, type Logger } from '@anime/logger';

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
   * A render job was handed back (delayed in its queue): `first`, it was not back from a hand-back
   * (by any process): fresh from its queue, or back from a retry, a stall or a place it had. At most
   * once per interval, on a hand-back, one info line says how many wait; `state` is read only then.
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
  const lines = new LineEvery<'firsts'>(everyMs, { now: options.now, atOnce: false, restartWhenIdle: true });
  return {
    handedBack(first, state) {
      const line = lines.occur({ firsts: first ? 1 : 0 });
      if (!line) return;
      const { waiting, backends, longestDelayMs } = state();
      const jobs = waiting === 1 ? 'render job waits' : 'render jobs wait';
      log.info(`${waiting} ${jobs} for a backend place`, { waiting, backends, handBacks: line.occurrences, firstHandBacks: line.firsts ?? 0, longestDelayMs, everyS: Math.round(everyMs / 1000) });
    },
  };
}
