import { comboOptions } from './combo-options';

describe('comboOptions', () => {
  it('when the input uses the legacy [[options], {}] form, then the options are read', () => {
    const info = { CheckpointLoaderSimple: { input: { required: { ckpt_name: [['a.safetensors', 'b.safetensors'], {}] } } } };
    expect(comboOptions(info, 'CheckpointLoaderSimple', 'ckpt_name')).toEqual(['a.safetensors', 'b.safetensors']);
  });

  it('when the input uses the ["COMBO", {options}] form, then the options are read', () => {
    const info = { CheckpointLoaderSimple: { input: { required: { ckpt_name: ['COMBO', { options: ['sdxl/c.safetensors'], default: 'x' }] } } } };
    expect(comboOptions(info, 'CheckpointLoaderSimple', 'ckpt_name')).toEqual(['sdxl/c.safetensors']);
  });

  it('when the class or input is missing, then there are no options', () => {
    expect(comboOptions({}, 'CheckpointLoaderSimple', 'ckpt_name')).toEqual([]);
    expect(comboOptions({ X: { input: { required: { n: ['INT', {}] } } } }, 'X', 'n')).toEqual([]);
  });
});
