import type { Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { AbandonedPrompts } from './abandoned-prompts';

describe('AbandonedPrompts (what one process remembers)', () => {
  // Remembering reads nothing: the database is only asked when a backend is swept.
  const remembered = () => new AbandonedPrompts(undefined as unknown as Db, createLogger('orchestrator', 'error'));

  it('when more prompts are abandoned than it keeps, then the oldest are forgotten, whichever backend held them', () => {
    const abandoned = remembered();
    abandoned.add('http://a', 'job-0', 'prompt-0');
    for (let i = 1; i <= 10_000; i++) abandoned.add('http://b', `job-${i}`, `prompt-${i}`);
    expect(abandoned.heldOn('http://a')).toBe(0);
    expect(abandoned.heldOn('http://b')).toBe(10_000);
  });

  it('when the same prompt is abandoned twice, then it is remembered once', () => {
    const abandoned = remembered();
    abandoned.add('http://a', 'job', 'prompt');
    abandoned.add('http://a', 'job', 'prompt');
    expect(abandoned.heldOn('http://a')).toBe(1);
  });
});
