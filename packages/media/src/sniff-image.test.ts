import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS, sniffImage } from '@anime/media';

describe('sniffImage', () => {
  it('when given the fixture PNG, then it reads type and size from the bytes', () => {
    const png = readFileSync(path.join(__dirname, '..', '..', '..', 'services', 'character', 'fixtures', 'legacy', 'images', 'sakura.png'));
    expect(sniffImage(png)).toEqual({ mime: 'image/png', extension: 'png', width: 64, height: 64 });
  });

  it('when given JPEG and GIF headers, then their sizes are found', () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x30, 0x00, 0x50, 0x03]);
    expect(sniffImage(jpeg)).toEqual({ mime: 'image/jpeg', extension: 'jpg', width: 80, height: 48 });
    const gif = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([0x20, 0x00, 0x10, 0x00])]);
    expect(sniffImage(gif)).toEqual({ mime: 'image/gif', extension: 'gif', width: 32, height: 16 });
    // What a filed output's path can end in: the file-organizer removes an unfiled job's files by them.
    const webp = Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.alloc(4), Buffer.from('WEBPVP8 ', 'latin1'), Buffer.alloc(18)]);
    for (const bytes of [jpeg, gif, webp]) expect(IMAGE_EXTENSIONS).toContain(sniffImage(bytes).extension);
  });

  it('when the bytes are no known image, then it says so instead of guessing from a name', () => {
    expect(sniffImage(Buffer.from('hello world, not an image'))).toEqual({ mime: 'application/octet-stream', extension: 'bin', width: null, height: null });
  });
});
