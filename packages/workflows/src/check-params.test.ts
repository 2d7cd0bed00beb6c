import type { TemplateParams } from '@anime/contracts';
import { capabilityWarnings } from './capability-warnings';
import { checkParams } from './check-params';
import { validateTemplate } from './validate-template';

const params: TemplateParams = {
  prompt: { type: 'string', node: '1', input: 'text' },
  steps: { type: 'int', node: '2', input: 'steps', min: 1, max: 50 },
  upscale: { type: 'boolean', node: '2', input: 'upscale', default: false },
  style: { type: 'enum', node: '2', input: 'style', options: ['ink', 'cel'] },
  ref: { type: 'image', node: '3', input: 'image' },
};
const ref = { slug: 'studio', version: 3 };

describe('checkParams', () => {
  it('when params are valid, then they are the values, defaults filling what was left out', () => {
    expect(checkParams(ref, params, { style: 'cel' })).toEqual({ values: { style: 'cel', upscale: false }, issues: [] });
    expect(checkParams(ref, params)).toEqual({ values: { upscale: false }, issues: [] });
  });

  it('when parameters are named like Object.prototype members, then they are checked and defaulted as any other', () => {
    const named: TemplateParams = { constructor: { type: 'int' as const, node: '2', input: 'a', default: 3 }, toString: { type: 'string' as const, node: '2', input: 'b', default: 'x' }, hasOwnProperty: { type: 'int' as const, node: '2', input: 'c' } };
    expect(checkParams(ref, named)).toEqual({ values: { constructor: 3, toString: 'x' }, issues: [] });
    expect(checkParams(ref, named, { hasOwnProperty: 1 })).toEqual({ values: { hasOwnProperty: 1, constructor: 3, toString: 'x' }, issues: [] });
    expect(validateTemplate({ '2': { class_type: 'Custom', inputs: { a: 1, b: 'y', c: 2 } } }, named).issues).toEqual([]);
  });

  it('when a param is a string "false", an image slot or a filled name, then each is an issue at params.<name>', () => {
    const { issues } = checkParams(ref, params, { upscale: 'false', ref: 'x.png', prompt: 'hi', steps: 4 });
    expect(issues).toEqual([
      { path: 'params.upscale', message: 'must be true or false (got "false")' },
      { path: 'params.ref', message: 'is filled from the character, not given' },
      { path: 'params.prompt', message: expect.stringContaining('filled from the request') },
      { path: 'params.steps', message: expect.stringContaining('filled from the request') },
    ]);
  });
});

describe('validateTemplate and capabilityWarnings', () => {
  const graph = {
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'missing.safetensors' } },
    '2': { class_type: 'FancySampler', inputs: { model: ['1', 0] } },
    '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } },
  };

  it('when a literal list is not wrapped, then it is refused as a link', () => {
    const { issues } = validateTemplate({ '1': { class_type: 'X', inputs: { sizes: [512, 768] } } }, {});
    expect(issues).toEqual([{ path: 'graph.1.inputs.sizes', message: expect.stringContaining('wrap a literal list') }]);
  });

  it('when backends are known, then classes and models none has are reported; with none known, nothing is', () => {
    const backends = [{ url: 'http://a', checkpoints: ['anime-v1.safetensors'], loras: [], nodeClasses: ['CheckpointLoaderSimple', 'SaveImage'] }];
    expect(capabilityWarnings(graph, backends).map((w) => [w.code, w.node])).toEqual([['missing_model', '1'], ['missing_node_class', '2']]);
    expect(capabilityWarnings(graph, [])).toEqual([]);
  });
});
