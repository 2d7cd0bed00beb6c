import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ComfyClient, ComfyHttpError, ComfyValidationError } from '../src';

/**
 * POST /prompt answered by a proxy in front of ComfyUI rather than by ComfyUI (its own pages, in
 * HTML): the error says what came back and keeps the page, never reads it as ComfyUI's verdict on
 * the prompt.
 */
describe('ComfyClient.submit answered by a proxy page (node:http stand-in)', () => {
  let server: http.Server;
  let client: ComfyClient;
  let answer: { status: number; type: string; body: string };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new ComfyClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const submitted = () => client.submit({ '1': { class_type: 'EmptyImage', inputs: {} } }, { promptId: 'p-proxy' }).catch((error: unknown) => error);

  it('when a proxy refuses the POST with its own 400 page, then it is a ComfyHttpError with status 400 and the page, not a ComfyValidationError "without saying why"', async () => {
    answer = { status: 400, type: 'text/html', body: '<html><body><h1>400 Bad Request</h1><p>Request Header Or Cookie Too Large</p></body></html>' };
    const error = await submitted();
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error).not.toBeInstanceOf(ComfyValidationError);
    expect(error).toMatchObject({ status: 400, method: 'POST', path: '/prompt', body: answer.body });
    // ComfyUI's own refusal (a JSON object) still is one.
    answer = { status: 400, type: 'application/json', body: JSON.stringify({ error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} }) };
    expect(await submitted()).toMatchObject({ name: 'ComfyValidationError', type: 'no_prompt', summary: 'No prompt provided' });
  });

  it('when a proxy answers the POST 200 with a page (a login form), then the ComfyHttpError says no prompt_id came, not that ComfyUI "answered 200"', async () => {
    answer = { status: 200, type: 'text/html', body: '<html><body><form action="/login">Sign in</form></body></html>' };
    const error = await submitted();
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect((error as Error).message).toBe(`ComfyUI at ${client.baseUrl} answered POST /prompt without a prompt_id`);
    expect(error).toMatchObject({ status: 200, body: answer.body });
  });
});
