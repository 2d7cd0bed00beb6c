import { getEventListeners } from 'node:events';
import { linkSignals } from './linked-signal';

describe('linkSignals', () => {
  it('when one source aborts, then the linked signal aborts with its reason, and the other sources are no longer listened to', () => {
    const first = new AbortController();
    const second = new AbortController();
    const linked = linkSignals([first.signal, undefined, second.signal]);
    expect(linked.signal.aborted).toBe(false);

    second.abort(new Error('backend lost'));
    expect(linked.signal.aborted).toBe(true);
    expect((linked.signal.reason as Error).message).toBe('backend lost');
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(0);

    first.abort(new Error('later'));
    expect((linked.signal.reason as Error).message).toBe('backend lost');
  });

  it('when a source is already aborted, then the linked signal is aborted at once with its reason', () => {
    const done = new AbortController();
    done.abort('canceled');
    const open = new AbortController();
    const linked = linkSignals([open.signal, done.signal]);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('canceled');
    expect(getEventListeners(open.signal, 'abort')).toHaveLength(0);
  });

  it('when disposed, then a later abort of a source leaves the linked signal alone', () => {
    const source = new AbortController();
    const linked = linkSignals([source.signal]);
    linked.dispose();
    linked.dispose();
    source.abort();
    expect(linked.signal.aborted).toBe(false);
  });

  it('when a long-lived source (a backend\'s lost signal) is linked for 10,000 jobs that each dispose, then it holds nothing of them: what it keeps stays bounded', () => {
    const lost = new AbortController();
    for (let job = 0; job < 10_000; job++) {
      const perJob = new AbortController();
      const linked = linkSignals([perJob.signal, lost.signal]);
      if (job % 2) perJob.abort();
      linked.dispose();
    }
    expect(getEventListeners(lost.signal, 'abort')).toHaveLength(0);
    // Node keeps AbortSignal.any's dependants under a symbol of the source: linkSignals adds none.
    const dependants = Object.getOwnPropertySymbols(lost.signal).filter((s) => String(s).includes('Dependant'));
    expect(dependants.map((s) => (lost.signal as unknown as Record<symbol, Set<unknown>>)[s].size)).toEqual(dependants.map(() => 0));
  });
});
