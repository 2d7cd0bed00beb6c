import { createHash } from 'node:crypto';
import { renderRgb } from './synthetic-pixels';

describe('synthetic pixels', () => {
  it('when patterns are rendered, then the bytes are those the simulator has always written (a seed gives the same file)', () => {
    // The digest of these renders as the first implementation (an array per pixel) wrote them.
    const hash = createHash('sha256');
    for (const [width, height] of [[64, 64], [1, 1], [3, 7], [100, 37], [512, 256]]) {
      for (let i = 0; i < 30; i++) hash.update(renderRgb({ kind: 'pattern', seed: `s${i}` }, width, height));
    }
    expect(hash.digest('hex')).toBe('745b3be9ea7ef38048c91cb6100932ce027ff346153847b9aa9031380cf82798');
  });

  it('when a solid colour is asked, then every pixel has it', () => {
    const rgb = renderRgb({ kind: 'solid', rgb: [1, 2, 3] }, 2, 2);
    expect([...rgb]).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });
});
