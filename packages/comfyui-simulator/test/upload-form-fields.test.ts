import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../src';

/** One multipart part: a plain field, or a file part when `filename` is given. */
interface Part {
  name: string;
  value: string;
  filename?: string;
  contentType?: string;
}

/** A multipart body written by hand, for parts FormData cannot make (a non-text part with no filename). */
function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = 'simgap-boundary-7f3c';
  const chunks = parts.map((part) => {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const type = part.contentType === undefined ? '' : `Content-Type: ${part.contentType}\r\n`;
    return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n${part.value}\r\n`;
  });
  return { body: Buffer.from(`${chunks.join('')}--${boundary}--\r\n`), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * server.image_upload reads `post.get("type")` first (a type other than input, temp or output raises:
 * a 500), then `if image and image.file:`. aiohttp's post() makes a part a FileField only when it has a
 * filename; otherwise it is str (bytes for a non-text Content-Type), and `.file` on a non-empty one
 * raises (a 500), while an empty one is falsy (a 400). post.get gives the first part of a name, and
 * the filename is kept as sent.
 */
describe('/upload/image form fields', () => {
  let sim: Simulator;
  const send = async (parts: Part[]) => {
    const { body, contentType } = multipart(parts);
    const response = await fetch(`${sim.url}/upload/image`, { method: 'POST', body, headers: { 'Content-Type': contentType } });
    return { status: response.status, text: await response.text() };
  };

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  it('when image is a plain text field, then it is a 500; when that field is empty, then a bare 400', async () => {
    expect((await send([{ name: 'image', value: 'not a file' }])).status).toBe(500);
    expect(await send([{ name: 'image', value: '' }])).toEqual({ status: 400, text: '' });
  });

  it('when image is a non-text part without a filename (bytes), then it is a 500 too', async () => {
    expect((await send([{ name: 'image', value: 'PNG bytes', contentType: 'application/octet-stream' }])).status).toBe(500);
  });

  it('when the type is unknown, then it is a 500 even without an image', async () => {
    expect((await send([{ name: 'type', value: 'models' }])).status).toBe(500);
  });

  it('when a field comes twice, then the first one counts', async () => {
    const { status, text } = await send([
      { name: 'type', value: 'temp' },
      { name: 'type', value: 'output' },
      { name: 'image', value: 'first', filename: 'twice.png', contentType: 'image/png' },
      { name: 'image', value: 'second', filename: 'other.png', contentType: 'image/png' },
    ]);
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ name: 'twice.png', subfolder: '', type: 'temp' });
    expect(readFileSync(join(sim.tempDir, 'twice.png'), 'utf8')).toBe('first');
  });

  it('when the filename holds a folder, then it is kept: written there if the folder exists, else a 500', async () => {
    mkdirSync(join(sim.inputDir, 'deep'), { recursive: true });
    const { status, text } = await send([{ name: 'image', value: 'nested', filename: 'deep/x.png', contentType: 'image/png' }]);
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ name: 'deep/x.png', subfolder: '', type: 'input' });
    expect(readFileSync(join(sim.inputDir, 'deep', 'x.png'), 'utf8')).toBe('nested');
    expect((await send([{ name: 'image', value: 'lost', filename: 'nowhere/x.png', contentType: 'image/png' }])).status).toBe(500);
    expect(existsSync(join(sim.inputDir, 'x.png'))).toBe(false);
  });
});
