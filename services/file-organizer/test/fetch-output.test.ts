import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ComfyClient, ComfyHttpError, ComfyUnreachableError } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createOutputFetcher } from '../src/domain/fetch-output';

/** A server answering every request with `answer`; its URL. */
async function serve(answer: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('output fetcher (GET /view of the simulator)', () => {
  let simulator: Simulator;
  let client: ComfyClient;
  const fetchOutput = createOutputFetcher();
  const servers: Server[] = [];

  beforeAll(async () => {
    simulator = await startSimulator({ stepMs: 1 });
    client = new ComfyClient({ baseUrl: simulator.url });
  });

  afterAll(async () => {
    fetchOutput.close();
    client.close();
    await simulator.close();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it('when an output is fetched, then it is the exact bytes ComfyUI wrote, also on the kept-alive connection again', async () => {
    const result = await client.run(textToImage({ steps: 1, width: 64, height: 64 }));
    const output = result.outputs[0];
    const written = await readFile(path.join(simulator.outputDir, output.subfolder, output.filename));
    expect((await fetchOutput(simulator.url, output)).equals(written)).toBe(true);
    expect((await fetchOutput(`${simulator.url}/`, output)).equals(written)).toBe(true);
  });

  it('when the output is not on the backend, then it is a ComfyHttpError with the status', async () => {
    const error = await fetchOutput(simulator.url, { nodeId: '9', filename: 'gone.png', subfolder: '', type: 'output' }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error.status).toBe(404);
  });

  it('when the backend answers a 5xx, then it is ComfyUnreachableError with the status', async () => {
    const { url, server } = await serve((_req, res) => res.writeHead(503).end('busy'));
    servers.push(server);
    const error = await fetchOutput(url, { nodeId: '9', filename: 'a.png', subfolder: '', type: 'output' }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyUnreachableError);
    expect(error.status).toBe(503);
  });

  it('when the connection is cut before the announced length, then it is ComfyUnreachableError, never a truncated image', async () => {
    const { url, server } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    servers.push(server);
    await expect(fetchOutput(url, { nodeId: '9', filename: 'a.png', subfolder: '', type: 'output' })).rejects.toBeInstanceOf(ComfyUnreachableError);
  });

  it('when nothing listens at the backend, then it is ComfyUnreachableError', async () => {
    const { url, server } = await serve(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    await expect(fetchOutput(url, { nodeId: '9', filename: 'a.png', subfolder: '', type: 'output' })).rejects.toBeInstanceOf(ComfyUnreachableError);
  });
});
