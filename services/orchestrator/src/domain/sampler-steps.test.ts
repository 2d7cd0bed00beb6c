import { samplerSteps } from './sampler-steps';

describe('samplerSteps (the progress ticks a graph is expected to send)', () => {
  it('when a graph has a KSampler, then it counts its steps; nodes without steps count nothing', () => {
    expect(samplerSteps({ '3': { class_type: 'KSampler', inputs: { steps: 20, seed: 1 } }, '9': { class_type: 'SaveImage', inputs: { images: ['8', 0] } } })).toBe(20);
  });

  it('when a graph has two samplers, one advanced over part of its steps, then it counts the steps each runs', () => {
    const graph = {
      '3': { class_type: 'KSampler', inputs: { steps: 20 } },
      '12': { class_type: 'KSamplerAdvanced', inputs: { steps: 30, start_at_step: 20, end_at_step: 10_000 } },
    };
    expect(samplerSteps(graph)).toBe(30);
  });

  it('when steps come from a link or are not numbers, then they count nothing', () => {
    expect(samplerSteps({ '3': { class_type: 'KSampler', inputs: { steps: ['40', 0] } }, '4': { class_type: 'KSampler', inputs: { steps: 'many' } }, '5': { class_type: 'KSampler', inputs: { steps: Number.NaN } } })).toBe(0);
  });
});
