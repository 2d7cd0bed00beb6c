import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { JOB_ERROR_DETAILS_MAX_CHARS, JOB_ERROR_MESSAGE_MAX_CHARS } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { recordJobEvents } from './socket-recorder';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

jest.setTimeout(180_000);

/**
 * What a ComfyUI says when a prompt fails reaches PostgreSQL, Socket.IO and webhooks. PostgreSQL
 * refuses NUL characters and lone surrogates; stored as they came, the failure could not be recorded
 * and the generation stayed `running`, its render followed again and again. A megabytes-long
 * message went everywhere whole.
 */
describe('a ComfyUI whose execution errors hold unstorable characters or megabytes (real stack)', () => {
  let fx: StackFixture;
  let backend: string;
  let receiver: http.Server;
  let hook: string;
  const delivered: { body: string }[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        delivered.push({ body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    fx = await startStackFixture('hostile-error-text', { extraEnv: { WEBHOOK_ALLOW: '127.0.0.1' } });
    backend = fx.stack.comfyUrls[0];
    const registered = await fx.api.post('/api/v1/webhooks', { url: `${hook}/failed`, events: ['generation.failed'] });
    expect(registered.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const failingGeneration = async (message: string) => {
    await axios.post(`${backend}/sim/fail-next`, { kind: 'execution_error', message });
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'fails on the backend', steps: 2, width: 64, height: 64 });
    expect(created.status).toBe(202);
    return created.data.id as string;
  };
  /** The webhook message about generation `id`, and its body as sent. */
  const webhookAbout = (id: string) =>
    waitFor(async () => {
      const found = delivered.find((d) => d.body.includes(id));
      return found ? { message: JSON.parse(found.body), body: found.body } : null;
    }, `the webhook about ${id}`, 30_000, 100);

  it('when the exception message holds NUL characters and lone surrogates, then the job fails with comfyui_execution and a readable message, on GET, the list, the socket and the webhook', async () => {
    const id = await failingGeneration('CUDA error: \u0000device-side assert \uD800triggered');
    const readable = 'CUDA error: \uFFFDdevice-side assert \uFFFDtriggered';

    const failed = await waitForGenerationEnd(fx, id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'comfyui_execution', message: readable } });
    expect(failed.error.details).toMatchObject({ exception_message: `${readable}\n`, node_type: 'KSampler' });
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0].error).toMatchObject({ code: 'comfyui_execution', message: readable });

    const listed = await fx.api.get('/api/v1/generations', { params: { status: 'failed' } });
    expect(listed.status).toBe(200);
    expect(listed.data.items.find((g: { id: string }) => g.id === id)).toMatchObject({ error: { code: 'comfyui_execution', message: readable } });

    const socket = await recordJobEvents(fx.stack.gatewayUrl, id, fx.apiKey);
    await socket.ended();
    socket.close();
    expect(socket.events.at(-1)).toMatchObject({ name: 'job:failed', payload: { jobId: id, error: { code: 'comfyui_execution', message: readable } } });

    expect((await webhookAbout(id)).message).toMatchObject({ type: 'generation.failed', data: { id, status: 'failed', error: { code: 'comfyui_execution', message: readable } } });
  });

  it('when the exception message is megabytes long, then GET, the socket and the webhook carry it bounded and marked as cut', async () => {
    const id = await failingGeneration(`Error while deserializing header: ${'A'.repeat(3_000_000)}`);

    const failed = await waitForGenerationEnd(fx, id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'comfyui_execution' } });
    expect(failed.error.message).toMatch(/^Error while deserializing header: A+… \[truncated: \d+ more characters\]$/);
    expect(failed.error.message.length).toBeLessThanOrEqual(JOB_ERROR_MESSAGE_MAX_CHARS + 100);
    expect(failed.error.details.exception_message).toMatch(/… \[truncated: \d+ more characters\]$/);
    expect(failed.error.details.traceback.length).toBeGreaterThan(0);
    // The resource holds the generation's error and its attempt's: each bounded.
    expect(JSON.stringify(failed).length).toBeLessThan(2 * (JOB_ERROR_MESSAGE_MAX_CHARS + JOB_ERROR_DETAILS_MAX_CHARS) + 20_000);

    const socket = await recordJobEvents(fx.stack.gatewayUrl, id, fx.apiKey);
    await socket.ended();
    socket.close();
    expect(socket.events.at(-1)).toMatchObject({ name: 'job:failed', payload: { error: { code: 'comfyui_execution', message: failed.error.message } } });

    const { message, body } = await webhookAbout(id);
    expect(message).toMatchObject({ type: 'generation.failed', data: { id, error: { message: failed.error.message } } });
    expect(body.length).toBeLessThan(2 * (JOB_ERROR_MESSAGE_MAX_CHARS + JOB_ERROR_DETAILS_MAX_CHARS) + 20_000);
  });
});
