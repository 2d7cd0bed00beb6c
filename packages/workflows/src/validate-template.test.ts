import type { TemplateGraph, TemplateParams } from '@anime/contracts';
import { validateTemplate } from './validate-template';

const graph = (nodes: Record<string, Record<string, unknown>>): TemplateGraph =>
  Object.fromEntries(Object.entries(nodes).map(([id, inputs]) => [id, { class_type: 'KSampler', inputs }])) as TemplateGraph;

describe('validateTemplate with names Object.prototype has', () => {
  it.each(['toString', 'constructor', 'hasOwnProperty', 'valueOf'])('when a link names node "%s", which the graph lacks, then it is an issue, not a TypeError', (name) => {
    const check = validateTemplate(graph({ '1': { model: [name, 0] } }), {});
    expect(check.issues).toEqual([{ path: 'graph.1.inputs.model', message: `links to node "${name}", which is not in the graph` }]);
  });

  it.each(['toString', 'constructor', 'hasOwnProperty'])('when a parameter names node "%s", which the graph lacks, then it is an issue, not a TypeError', (name) => {
    const params = { cfg: { type: 'float', node: name, input: 'cfg' } } as TemplateParams;
    const check = validateTemplate(graph({ '1': { cfg: 7 } }), params);
    expect(check.issues).toEqual([{ path: 'params.cfg.node', message: `no node "${name}" in the graph` }]);
  });

  it.each(['__proto__', 'toString', 'constructor'])('when a parameter names input "%s", which the node lacks, then it is an issue', (name) => {
    const params = { cfg: { type: 'float', node: '1', input: name } } as TemplateParams;
    const check = validateTemplate(graph({ '1': { cfg: 7 } }), params);
    expect(check.issues).toEqual([{ path: 'params.cfg.input', message: `node 1 (KSampler) has no input "${name}"; it has cfg` }]);
  });
});
