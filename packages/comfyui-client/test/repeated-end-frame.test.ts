import { randomUUID } from 'node:crypto';
import { ComfyClient } from '../src';
import { capture, CaptureServer } from './helpers/capture-server';

/**
 * A buggy or hostile server that sends a prompt's last event, `executing {node: null}`, over and
 * over (a real ComfyUI sends it once, after writing the prompt's history) while its /history entry
 * is late and /queue lists it running: the run still ends as soon as the entry is there, and
 * /history is asked at the fast pace at most, never once per frame, for the 5 s grace the first
 * such event opens; past it, at the caller's poll interval.
 */
describe('ComfyClient facing a server repeating the end of a prompt (captured frames, then the end frame every 2 ms)', () => {
  let server: CaptureServer;
  let client: ComfyClient;
  let repeating: NodeJS.Timeout | undefined;
  const probe = () => capture('10_probe_post_prompt_response.json').request_json.prompt;
  const historyAsks = (promptId: string) => server.requests.filter((r) => r.url === `/history/${promptId}`).length;

  const endFrame = (promptId: string) => ({ text: `{"type": "executing", "data": {"node": null, "prompt_id": "${promptId}"}}` });
  const successFrame = (promptId: string) => ({ text: `{"type": "execution_success", "data": {"prompt_id": "${promptId}", "timestamp": 1795482496056}}` });

  /**
   * Replays the probe with its history `historyLagMs` late, sending `repeated` frames in turn every 2 ms
   * from the POST on; resolves the time the POST was answered.
   */
  function replayRepeatingEnd(historyLagMs: number, repeated = [endFrame]): Promise<number> {
    return new Promise((posted) => {
      server.replay({
        name: '10_probe',
        historyLagMs,
        before: (promptId) => {
          let sent = 0;
          repeating = setInterval(() => server.send(client.clientId, [repeated[sent++ % repeated.length](promptId)]), 2);
          posted(Date.now());
          return [];
        },
      });
    });
  }

  beforeAll(async () => {
    server = await CaptureServer.start();
    client = new ComfyClient({ baseUrl: server.url });
    await client.connect();
  });

  afterEach(() => clearInterval(repeating));

  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('when the entry comes 1.5 s after the end, then the run ends at once with it, and /history was asked at most every 50 ms meanwhile, not once per frame', async () => {
    const promptId = randomUUID();
    const posted = replayRepeatingEnd(1_500);
    const result = await client.run(probe(), { promptId, pollIntervalMs: 5_000 });
    const took = Date.now() - (await posted);
    clearInterval(repeating);
    expect(result.outputs).toEqual([{ nodeId: '2', filename: 'probe_00001_.png', subfolder: '', type: 'output' }]);
    // Far below the poll interval (5 s): the fast polls found the entry.
    expect(took).toBeLessThan(1_500 + 1_000);
    // 1.5 s at one ask per 50 ms; each of the ~750 frames asking once was the fault.
    expect(historyAsks(promptId)).toBeLessThanOrEqual(1_500 / 50 + 5);
  });

  it('when the server alternates execution_success and the end frame, then each kind wakes the follower once and /history is asked at most every 50 ms meanwhile, not once per frame', async () => {
    const promptId = randomUUID();
    const posted = replayRepeatingEnd(1_500, [successFrame, endFrame]);
    const result = await client.run(probe(), { promptId, pollIntervalMs: 5_000 });
    const took = Date.now() - (await posted);
    clearInterval(repeating);
    expect(result.outputs).toHaveLength(1);
    expect(took).toBeLessThan(1_500 + 1_000);
    expect(historyAsks(promptId)).toBeLessThanOrEqual(1_500 / 50 + 5);
  });

  it('when the entry comes 7 s after the end (the prompt still running past the grace), then past the grace /history is asked at the poll interval, and the run ends with the entry', async () => {
    const promptId = randomUUID();
    const posted = replayRepeatingEnd(7_000);
    const running = client.run(probe(), { promptId, pollIntervalMs: 500 });
    const start = await posted;
    await new Promise((resolve) => setTimeout(resolve, 5_600 - (Date.now() - start)));
    const inGrace = historyAsks(promptId);
    const result = await running;
    const took = Date.now() - start;
    clearInterval(repeating);
    expect(result.outputs).toHaveLength(1);
    expect(took).toBeLessThan(7_000 + 500 + 1_000);
    expect(inGrace).toBeLessThanOrEqual(5_600 / 50 + 5);
    // 1.4 s past the grace at one ask per 500 ms (a fresh grace opened by the next repeat would ask every 50 ms).
    expect(historyAsks(promptId) - inGrace).toBeLessThanOrEqual(5);
  });

  it('when /queue lists the prompt pending (not started) past the grace of its end frame, then past the grace /history and /queue are asked at the poll interval, not both every 50 ms until the entry comes', async () => {
    const promptId = randomUUID();
    const queueAsks = () => server.requests.filter((r) => r.url === '/queue').length;
    const posted = new Promise<number>((resolve) => {
      server.replay({
        name: '10_probe',
        historyLagMs: 7_000,
        lagListed: 'pending',
        before: () => {
          resolve(Date.now());
          return [];
        },
      });
    });
    const running = client.run(probe(), { promptId, pollIntervalMs: 500 });
    const start = await posted;
    await new Promise((resolve) => setTimeout(resolve, 5_600 - (Date.now() - start)));
    const inGrace = { history: historyAsks(promptId), queue: queueAsks() };
    const result = await running;
    expect(result.outputs).toHaveLength(1);
    expect(Date.now() - start).toBeLessThan(7_000 + 500 + 1_000);
    // 1.4 s past the grace at one look per 500 ms. Before: the end frame stayed the hint while the
    // prompt was listed pending, so every 50 ms /history and (the grace over) /queue were asked, until the job's timeout.
    expect(historyAsks(promptId) - inGrace.history).toBeLessThanOrEqual(5);
    expect(queueAsks() - inGrace.queue).toBeLessThanOrEqual(5);
  });
});
