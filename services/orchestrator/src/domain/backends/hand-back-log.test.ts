import { createLogger } from '@anime/logger';
import { createHandBackLog, HAND_BACK_SUMMARY_EVERY_MS } from './hand-back-log';

type Line = { level: string; message: string; [key: string]: unknown };

describe('createHandBackLog', () => {
  function setup() {
    const lines: Line[] = [];
    const log = createLogger('orchestrator-test', 'debug');
    for (const transport of log.transports) transport.silent = true;
    log.on('data', (line: Line) => lines.push(line));
    let at = 1_000_000;
    const handBackLog = createHandBackLog(log, { now: () => at });
    const state = { waiting: 400, backends: { 'http://alpha:8188': 400 }, longestDelayMs: 40_000 };
    return { lines, handBackLog, state: () => state, advance: (ms: number) => (at += ms) };
  }

  it('when a backlog is handed back 10 times a second for 10 minutes, then one info line a minute says how many wait, from the first minute on', () => {
    const { lines, handBackLog, state, advance } = setup();
    for (let i = 0; i < 6_000; i++) {
      handBackLog.handedBack(i < 400, state);
      advance(100);
    }
    // Before: no summary (each of the 6,000 hand-backs was its own info line).
    expect(lines.map((l) => l.message)).toEqual(Array(9).fill('400 render jobs wait for a backend place'));
    expect(lines[0]).toMatchObject({ level: 'info', waiting: 400, backends: { 'http://alpha:8188': 400 }, handBacks: 601, firstHandBacks: 400, longestDelayMs: 40_000, everyS: 60 });
    expect(lines[1]).toMatchObject({ handBacks: 600, firstHandBacks: 0 });
  });

  it('when a minute passes without a hand-back, then the next hand-backs start a new minute: no line at once', () => {
    const { lines, handBackLog, state, advance } = setup();
    handBackLog.handedBack(true, state);
    advance(HAND_BACK_SUMMARY_EVERY_MS + 1);
    handBackLog.handedBack(true, state);
    expect(lines).toEqual([]);
    advance(HAND_BACK_SUMMARY_EVERY_MS);
    handBackLog.handedBack(false, state);
    expect(lines).toEqual([expect.objectContaining({ message: '400 render jobs wait for a backend place', handBacks: 2, firstHandBacks: 1 })]);
  });
});
