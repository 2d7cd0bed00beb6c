import { encodePng } from '../src';
import { pngChunks } from '../src/images/png-chunks';

/** The one chunk walk behind readPngText and decodePng. */
describe('pngChunks', () => {
  const png = encodePng({ width: 2, height: 1, rgb: Buffer.from([1, 2, 3, 4, 5, 6]), text: [['prompt', '{}'], ['caf\u00e9', '\u20ac']] });

  it('when a PNG is walked, then its chunks come in file order with their data, up to IEND', () => {
    const chunks = [...pngChunks(png)];
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'tEXt', 'iTXt', 'IDAT']);
    expect(chunks[0].data.readUInt32BE(0)).toBe(2);
    expect(chunks[1].data.toString('latin1')).toBe('prompt\u0000{}');
  });

  it('when bytes follow IEND, then they are not walked', () => {
    const trailing = Buffer.concat([png, Buffer.from([0, 0, 0, 0]), Buffer.from('tEXt', 'latin1'), Buffer.alloc(4)]);
    expect([...pngChunks(trailing)].map((c) => c.type)).toEqual(['IHDR', 'tEXt', 'iTXt', 'IDAT']);
  });

  it('when the bytes end inside a chunk, then that chunk comes with the data there is and the walk ends', () => {
    const cut = png.subarray(0, 8 + 25 + 8 + 3);
    const chunks = [...pngChunks(cut)];
    expect(chunks.map((c) => [c.type, c.data.length])).toEqual([['IHDR', 13], ['tEXt', 3]]);
  });
});
