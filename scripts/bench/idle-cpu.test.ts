import { idleFromReadings } from './idle-cpu';
import { idleLines } from './report';

describe('idle CPU over several windows', () => {
  it('when one window holds a start-up burst, then the median leaves it out and the peak shows it', () => {
    // CPU ms read at 0, 5, 10, … s: 2, 2, 56 (the memory reducer), 4, 2, 2 ms per second.
    const idle = idleFromReadings('character', [100, 110, 120, 400, 420, 430, 440], 5);
    expect(idle).toEqual({ process: 'character', msPerSecond: 2, peakMsPerSecond: 56 });
  });

  it('when a reading is unknown, or there is no window, then the idle CPU is unknown', () => {
    expect(idleFromReadings('gateway', [100, null, 120], 5)).toEqual({ process: 'gateway', msPerSecond: null, peakMsPerSecond: null });
    expect(idleFromReadings('gateway', [100], 5)).toEqual({ process: 'gateway', msPerSecond: null, peakMsPerSecond: null });
  });

  it('when the report tells idle CPU, then each process shows its median and busiest reading, and the services their sum of medians', () => {
    const [line] = idleLines([
      { process: 'gateway', msPerSecond: 2, peakMsPerSecond: 30 },
      { process: 'file-organizer', msPerSecond: 4, peakMsPerSecond: 36 },
      { process: 'simulator 1', msPerSecond: 1, peakMsPerSecond: 1 },
    ]);
    expect(line).toContain('6 readings of 5 s from 10 s after it was ready');
    expect(line).toContain('gateway 2.0 (30.0), file-organizer 4.0 (36.0), simulator 1 1.0 (1.0)');
    expect(line).toContain('the four services 6.0 ms/s');
    expect(idleLines(undefined)).toEqual([]);
  });
});
