import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zipFiles } from '../src/domain/bundle/zip-files';

describe('zipFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'zip-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sink = () =>
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    });

  it('when a library image streamed into the zip is gone by the time it is read (removed after it was checked), then the stream fails, which the export can answer, and nothing is thrown past it', async () => {
    const present = path.join(dir, 'present.png');
    await writeFile(present, Buffer.alloc(1_000, 1));
    const files = [
      { path: 'character.json', bytes: Buffer.from('{}') },
      { path: 'references/present.png', source: present },
      { path: 'references/gone.png', source: path.join(dir, 'gone.png') },
    ];
    await expect(pipeline(zipFiles(files), sink())).rejects.toThrow(/ENOENT/);
  });
});
