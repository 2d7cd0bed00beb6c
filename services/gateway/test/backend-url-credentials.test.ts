import { startTestGateway, type TestGateway } from './start-test-gateway';

// COMFYUI_URLS may give a backend a password (a proxy's Basic auth). The orchestrators keep the URL as
// it is in the rows they write (the file-organizer fetches outputs with it); whoever reads a backend or a
// generation through the API (a `read` key, `anime backends`, `anime status`, a webhook's data) sees it as ***.
describe('backend URLs holding a user name and password', () => {
  let gateway: TestGateway;
  const PASSWORD = 'Pr0xyPw';
  const url = `http://comfy:${PASSWORD}@gpu-1.internal:8188`;
  const shown = 'http://***@gpu-1.internal:8188';

  beforeAll(async () => {
    gateway = await startTestGateway('sec-backend-creds');
    await gateway.db.backend.create({
      data: { id: 'cccccccccccc', url, state: 'down', lastError: `ComfyUI at ${url} unreachable (GET /queue: ECONNREFUSED)`, jobsDone: 1 },
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('when a read key lists the backends or reads one, then its url and lastError show *** in place of the credentials', async () => {
    const api = gateway.client(await gateway.mintKey({ scopes: ['read'] }));
    const list = await api.get('/api/v1/backends');
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(PASSWORD);
    expect(list.body.items).toEqual([expect.objectContaining({ id: 'cccccccccccc', url: shown, lastError: `ComfyUI at ${shown} unreachable (GET /queue: ECONNREFUSED)` })]);
    // Draining answers the resource too (admin).
    const drained = await gateway.client().post('/api/v1/backends/cccccccccccc/drain');
    expect(drained.status).toBe(200);
    expect(drained.body.url).toBe(shown);
  });

  it('when a generation ran there, then its resource names the backend, its attempts and its error with *** in place of the credentials', async () => {
    const at = new Date();
    const job = await gateway.db.generationJob.create({
      data: {
        status: 'failed',
        stage: 'submitted',
        request: { character: 'kai', prompt: 'x' },
        project: 'default',
        episode: 'ep00',
        scene: 'sc000',
        backend: url,
        promptId: 'p-1',
        errorCode: 'comfyui_unreachable',
        errorMessage: `ComfyUI at ${url} unreachable (POST /prompt: ECONNRESET)`,
        finishedAt: at,
      },
    });
    await gateway.db.jobAttempt.create({
      data: { jobId: job.id, number: 1, backend: url, promptId: 'p-1', submittedAt: at, finishedAt: at, error: { code: 'comfyui_unreachable', message: `backend ${url} went down: socket closed` } },
    });
    const api = gateway.client(await gateway.mintKey({ scopes: ['read'] }));
    const one = await api.get(`/api/v1/generations/${job.id}`);
    const list = await api.get('/api/v1/generations?status=failed');
    expect([one.status, list.status]).toEqual([200, 200]);
    expect(JSON.stringify([one.body, list.body])).not.toContain(PASSWORD);
    expect(one.body).toMatchObject({
      backend: shown,
      error: { code: 'comfyui_unreachable', message: `ComfyUI at ${shown} unreachable (POST /prompt: ECONNRESET)` },
      attempts: [{ number: 1, backend: shown, error: { code: 'comfyui_unreachable', message: `backend ${shown} went down: socket closed` } }],
    });
  });
});
