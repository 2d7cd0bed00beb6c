import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../src';
import { postJson, waitForHistory } from './helpers/http';
import { textToImage } from '../src/sample-workflows';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('files: /view and /upload/image', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  async function upload(bytes: Buffer, filename: string, fields: Record<string, string> = {}) {
    const form = new FormData();
    form.append('image', new Blob([bytes], { type: 'image/png' }), filename);
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    const response = await fetch(`${sim.url}/upload/image`, { method: 'POST', body: form });
    return { status: response.status, text: await response.text() };
  }

  it('when an image was saved, then /view returns exactly the bytes on disk with an image/png type', async () => {
    const { json } = await postJson(sim.url, '/prompt', { prompt: textToImage({ prefix: 'view/out' }) });
    const image = (await waitForHistory(sim.url, json.prompt_id)).outputs['9'].images[0];
    const response = await fetch(`${sim.url}/api/view?${new URLSearchParams(image)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('content-disposition')).toBe(`filename="${image.filename}"`);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(sha256(bytes)).toBe(sha256(readFileSync(join(sim.outputDir, image.subfolder, image.filename))));
  });

  it.each([
    ['a leading slash', 'filename=%2Fetc%2Fpasswd', 400],
    ['dot-dot in the name', 'filename=..%2Fsecret.png', 400],
    ['a subfolder escaping the folder', 'filename=passwd&subfolder=..%2F..%2Fetc', 403],
    ['an absolute subfolder', 'filename=passwd&subfolder=%2Fetc', 403],
    ['a missing file', 'filename=nope.png', 404],
    ['an unknown type', 'filename=x.png&type=models', 400],
    ['no filename', 'type=output', 404],
  ])('when /view gets %s (%s), then it answers %i with no body', async (_what, query, status) => {
    const response = await fetch(`${sim.url}/view?${query}`);
    expect(response.status).toBe(status);
    expect(await response.text()).toBe('');
  });

  it('when a file is larger than what is read whole (8 MiB), then /view streams exactly its bytes with their length', async () => {
    const big = Buffer.alloc(9 * 2 ** 20 + 3);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    writeFileSync(join(sim.outputDir, 'big.png'), big);
    const response = await fetch(`${sim.url}/view?filename=big.png`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(big.length));
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(big));
  });

  it('when html is viewed, then it is served as an octet-stream attachment', async () => {
    writeFileSync(join(sim.outputDir, 'page.html'), '<script>alert(1)</script>');
    const response = await fetch(`${sim.url}/view?filename=page.html`);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="page.html"');
  });

  it('when the same name is uploaded with the same bytes, then the name is reused; with other bytes, then it becomes "name (1)"', async () => {
    const first = Buffer.from('first image bytes');
    expect(JSON.parse((await upload(first, 'ref.png', { subfolder: 'refs' })).text)).toEqual({ name: 'ref.png', subfolder: 'refs', type: 'input' });
    expect(JSON.parse((await upload(first, 'ref.png', { subfolder: 'refs' })).text).name).toBe('ref.png');
    expect(JSON.parse((await upload(Buffer.from('second'), 'ref.png', { subfolder: 'refs' })).text).name).toBe('ref (1).png');
    expect(JSON.parse((await upload(Buffer.from('third'), 'ref.png', { subfolder: 'refs' })).text).name).toBe('ref (2).png');
    expect(JSON.parse((await upload(Buffer.from('second'), 'ref.png', { subfolder: 'refs' })).text).name).toBe('ref (1).png');
    expect(readFileSync(join(sim.inputDir, 'refs', 'ref (1).png'), 'utf8')).toBe('second');
    expect(sim.uploads.map((u) => u.name)).toEqual(['ref.png', 'ref.png', 'ref (1).png', 'ref (2).png', 'ref (1).png']);
    expect(sim.uploads[2]).toEqual({ name: 'ref (1).png', subfolder: 'refs', type: 'input', sha256: sha256(Buffer.from('second')), bytes: 6 });
  });

  it('when overwrite is "true", then the existing file is replaced under its own name', async () => {
    await upload(Buffer.from('old'), 'over.png');
    const { text } = await upload(Buffer.from('new'), 'over.png', { overwrite: 'true' });
    expect(JSON.parse(text).name).toBe('over.png');
    expect(readFileSync(join(sim.inputDir, 'over.png'), 'utf8')).toBe('new');
  });

  it('when uploading to temp or output, then the file lands there and is viewable with that type', async () => {
    const { text } = await upload(Buffer.from('tmp'), 't.png', { type: 'temp' });
    expect(JSON.parse(text)).toEqual({ name: 't.png', subfolder: '', type: 'temp' });
    expect((await fetch(`${sim.url}/view?filename=t.png&type=temp`)).status).toBe(200);
  });

  it('when an upload escapes its folder or lacks the image part, then it is a bare 400; an unknown type is a 500', async () => {
    expect(await upload(Buffer.from('x'), 'x.png', { subfolder: '../../etc' })).toEqual({ status: 400, text: '' });
    const form = new FormData();
    form.append('subfolder', 'x');
    const noImage = await fetch(`${sim.url}/upload/image`, { method: 'POST', body: form });
    expect(noImage.status).toBe(400);
    expect(await noImage.text()).toBe('');
    expect((await upload(Buffer.from('x'), 'x.png', { type: 'models' })).status).toBe(500);
  });

  it('when an image is uploaded, then LoadImage lists it in /object_info', async () => {
    mkdirSync(join(sim.inputDir, 'nested'), { recursive: true });
    await upload(Buffer.from('listed'), 'listed.png');
    const info: any = await (await fetch(`${sim.url}/object_info/LoadImage`)).json();
    expect(info.LoadImage.input.required.image[0]).toContain('listed.png');
    expect(info.LoadImage.input.required.image[1]).toEqual({ image_upload: true });
  });
});
