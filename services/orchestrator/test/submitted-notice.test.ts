import { waitFor } from '@anime/testing';
import { PromptNotices } from '../src/jobs/prompt-notices';
import { SubmittedNotice } from '../src/jobs/submitted-notice';
import { startNoticesFixture, type NoticesFixture } from './notices-fixture';

describe('SubmittedNotice (job:submitted published once ComfyUI queued the prompt, withdrawn when it refused it)', () => {
  let fx: NoticesFixture;
  beforeAll(async () => (fx = await startNoticesFixture('submitted-notice')));
  afterAll(() => fx?.close());

  /** What both notices are recorded and published through. */
  const deps = () => ({ lifecycle: fx.lifecycle, events: fx.events, log: fx.log });
  const recordedAttempt = (promptId: string) => fx.recordedAttempt(promptId);
  const story = async (id: string) => (await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type);
  const publishedOf = (id: string) => fx.published.filter((e) => e.jobId === id).map((e) => e.name);
  // Pub/sub is in order on one connection: a marker published after the notice's decision shows what came before it.
  const markerSeen = async (id: string) => {
    await fx.events.publishAll([{ name: 'job:canceled', seq: 999, payload: { jobId: id, seq: 999 } }]);
    await waitFor(() => publishedOf(id).includes('job:canceled'), 'the marker event');
    return publishedOf(id).filter((name) => name !== 'job:canceled');
  };

  it('when ComfyUI queues the prompt, then job:submitted is published only then, and a started notice that came before the answer follows it', async () => {
    const { id, event } = await recordedAttempt('queued');
    const submitted = new SubmittedNotice(deps(), event);
    const notices = new PromptNotices(deps(), id, 'queued', submitted.announced);
    // ComfyUI began executing before its POST answer reached us.
    notices.started();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(publishedOf(id)).toEqual([]);
    expect((await fx.db.jobAttempt.findFirstOrThrow({ where: { jobId: id } })).startedAt).toBeNull();

    submitted.accepted();
    await notices.settled();
    await waitFor(() => publishedOf(id).length >= 2, 'job:submitted and job:started');
    expect(publishedOf(id)).toEqual(['job:submitted', 'job:started']);
    expect(await story(id)).toEqual(['job:queued', 'job:submitted', 'job:started']);
  });

  it('when ComfyUI refuses the prompt, then job:submitted is taken out of the story, nothing is published, and a started notice meanwhile records nothing', async () => {
    const { id, event } = await recordedAttempt('refused');
    const submitted = new SubmittedNotice(deps(), event);
    const notices = new PromptNotices(deps(), id, 'refused', submitted.announced);
    notices.started();

    await submitted.refused();
    await notices.settled();
    expect(await story(id)).toEqual(['job:queued']);
    expect((await fx.db.jobAttempt.findFirstOrThrow({ where: { jobId: id } })).startedAt).toBeNull();
    expect(await markerSeen(id)).toEqual([]);
    // The attempt itself stays: the failure (or the next attempt) records how it ended.
    expect(await fx.db.jobAttempt.count({ where: { jobId: id } })).toBe(1);
  });

  it('when the POST got no answer, then the stored job:submitted stands and is published (ComfyUI may hold the prompt), and a started notice meanwhile follows it', async () => {
    const { id, event } = await recordedAttempt('unanswered');
    const submitted = new SubmittedNotice(deps(), event);
    const notices = new PromptNotices(deps(), id, 'unanswered', submitted.announced);
    notices.started();
    submitted.unanswered({ publish: true });
    await notices.settled();
    expect(await submitted.announced).toBe(true);
    expect(await story(id)).toEqual(['job:queued', 'job:submitted', 'job:started']);
    expect(await markerSeen(id)).toEqual(['job:submitted', 'job:started']);
  });

  it('when the process shuts down before ComfyUI answered, then the stored job:submitted stays for the next process to resume, and nothing is published', async () => {
    const { id, event } = await recordedAttempt('shutdown');
    const submitted = new SubmittedNotice(deps(), event);
    submitted.unanswered({ publish: false });
    expect(await submitted.announced).toBe(false);
    expect(await story(id)).toEqual(['job:queued', 'job:submitted']);
    expect(await markerSeen(id)).toEqual([]);
  });

  it('when the answer comes after the attempt was given up, then it changes nothing', async () => {
    const { id, event } = await recordedAttempt('late');
    const submitted = new SubmittedNotice(deps(), event);
    await submitted.refused();
    submitted.accepted();
    expect(await submitted.announced).toBe(false);
    expect(await story(id)).toEqual(['job:queued']);
    expect(await markerSeen(id)).toEqual([]);
  });
});
