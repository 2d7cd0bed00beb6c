import { emptyImageProbe, startSimulator, type Simulator } from '../src';
import { getJson } from './helpers/http';

/**
 * Every JSON route reads its body with aiohttp's request.json(): request.text() decodes it with
 * bytes.decode('utf-8') — strict, so a body that isn't UTF-8 raises UnicodeDecodeError, which no
 * handler catches: a 500, with nothing done.
 */
describe('a JSON body that is not UTF-8', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  it('when POST /prompt gets Latin-1 text, then it is a 500 and nothing is queued', async () => {
    const body = Buffer.from(`{"prompt": ${JSON.stringify(emptyImageProbe('caf\u00e9'))}, "client_id": "caf\u00e9"}`, 'latin1');
    const response = await fetch(`${sim.url}/prompt`, { method: 'POST', body });
    expect(response.status).toBe(500);
    expect(sim.received).toEqual([]);
    expect(await getJson(sim.url, '/history')).toEqual({});
  });

  it('when the same text comes as UTF-8, then it is queued', async () => {
    const body = Buffer.from(`{"prompt": ${JSON.stringify(emptyImageProbe('caf\u00e9'))}, "client_id": "caf\u00e9"}`, 'utf8');
    expect((await fetch(`${sim.url}/prompt`, { method: 'POST', body })).status).toBe(200);
  });
});
