import { createLogger } from '@anime/logger';
import { createWaitLog } from './wait-log';

type Line = { level: string; message: string; [key: string]: unknown };

function captured() {
  const log = createLogger('file-organizer', 'debug');
  for (const transport of log.transports) transport.silent = true;
  const lines: Line[] = [];
  log.on('data', (line: Line) => lines.push(line));
  return { log, lines };
}

const FULL = 'the library refuses writes (ENOSPC: the library volume is full)';
const DOWN = 'the backend holding the outputs is unreachable';

describe('createWaitLog', () => {
  it('when 200 filings look every 15 s for an hour, then each first wait is one info line, the looks after it are at debug, and one summary a minute says how many wait', () => {
    const { log, lines } = captured();
    let clock = 0;
    const waits = createWaitLog(log, { now: () => clock });
    const ids = Array.from({ length: 200 }, (_, i) => `g${i}`);
    for (; clock < 3_600_000; clock += 15_000) for (const id of ids) waits.look(log, id, FULL, `${FULL}: the filing waits, its tries untouched`, { generationId: id });
    const loud = lines.filter((line) => line.level !== 'debug');
    const summaries = loud.filter((line) => line.message === `200 filings wait: ${FULL}`);
    // Before: every look at info, 48,000 lines.
    expect(loud.length).toBe(200 + 59);
    expect(summaries).toHaveLength(59);
    expect(summaries[0]).toMatchObject({ waiting: 200, reason: FULL, everyS: 60 });
    expect(lines.filter((line) => line.level === 'debug')).toHaveLength(239 * 200);
  });

  it('when a filing waits for another reason, ends and waits again, or goes unseen for minutes, then its next wait is at info again', () => {
    const { log, lines } = captured();
    let clock = 0;
    const waits = createWaitLog(log, { now: () => clock });
    const info = () => lines.filter((line) => line.level === 'info').map((line) => line.message);
    waits.look(log, 'a', DOWN, 'down', {});
    waits.look(log, 'a', DOWN, 'down', {});
    waits.look(log, 'a', FULL, 'full', {});
    waits.end('a');
    waits.look(log, 'a', FULL, 'full', {});
    expect(info()).toEqual(['down', 'full', 'full']);
    // Another process filed it: forgotten at the next summary after 5 minutes unseen.
    clock = 6 * 60_000;
    waits.look(log, 'b', DOWN, 'down', {});
    waits.look(log, 'a', FULL, 'full', {});
    expect(info()).toEqual(['down', 'full', 'full', 'down', `1 filing waits: ${DOWN}`, 'full']);
  });
});
