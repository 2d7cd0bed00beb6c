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

  it('when a name holds NUL or a lone surrogate (a file name that is not UTF-8), then it is left out', () => {
    const info = { LoraLoader: { input: { required: { lora_name: [['a\u0000.safetensors', 'b\uDCFF.safetensors', 'c\uD83D\uDE00.safetensors', 'd.safetensors'], {}] } } } };
    expect(comboOptions(info, 'LoraLoader', 'lora_name')).toEqual(['c\uD83D\uDE00.safetensors', 'd.safetensors']);
  });

  it('when the class or input is missing, then there are no options', () => {
    expect(comboOptions({}, 'CheckpointLoaderSimple', 'ckpt_name')).toEqual([]);
    expect(comboOptions({ X: { input: { required: { n: ['INT', {}] } } } }, 'X', 'n')).toEqual([]);
  });
});
