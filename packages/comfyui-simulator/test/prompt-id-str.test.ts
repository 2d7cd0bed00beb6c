import { emptyImageProbe, startSimulator, type Simulator } from '../src';
import { waitForHistory } from './helpers/http';

/**
 * ComfyUI 0.3.64 and 0.8.0 take the client's id as `str(json_data.get("prompt_id", uuid.uuid4()))`
 * (server.post_prompt, from #8189 in Jul 2025 until #13998 in Jun 2026): only an absent key gets a
 * uuid4; a given value, null included, is str()ed, and nothing checks its form. (#13998 later made
 * null mint a uuid and a non-canonical id a 400 invalid_prompt_id; neither version has that.)
 */
describe('a prompt_id the client gives', () => {
  let sim: Simulator;
  const post = async (fields: string) => {
    const response = await fetch(`${sim.url}/prompt`, { method: 'POST', body: `{"prompt": ${JSON.stringify(emptyImageProbe('ids'))}${fields}}` });
    return { status: response.status, json: (await response.json()) as any };
  };

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  it('when prompt_id is null, then the prompt is queued under the id "None", as str(None) gives', async () => {
    const { status, json } = await post(', "prompt_id": null');
    expect(status).toBe(200);
    expect(json.prompt_id).toBe('None');
    expect((await waitForHistory(sim.url, 'None')).prompt[1]).toBe('None');
  });

  it.each([
    ['true', 'True'],
    ['5', '5'],
    ['5.0', '5.0'],
    ['"job-2b1e9c6e-0001"', 'job-2b1e9c6e-0001'],
    ['"A1B2C3D4-0000-4000-8000-000000000000"', 'A1B2C3D4-0000-4000-8000-000000000000'],
  ])('when prompt_id is %s, then the id is its str() and no form is required', async (given, id) => {
    const { status, json } = await post(`, "prompt_id": ${given}`);
    expect(status).toBe(200);
    expect(json.prompt_id).toBe(id);
  });

  it('when prompt_id is absent, then the server makes a uuid4', async () => {
    const { json } = await post('');
    expect(json.prompt_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
