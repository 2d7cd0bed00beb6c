import { endedWithout } from './generation-summary';

describe('endedWithout', () => {
  it("when a generation failed, then its status, its error's code and ComfyUI's message are said", () => {
    expect(endedWithout('g1', 'failed', { code: 'comfyui_execution', message: 'Allocation on device' })).toBe('generation g1 failed: comfyui_execution: Allocation on device');
  });

  it('when a generation was canceled, then "canceled" is said once, not as its code and message again', () => {
    expect(endedWithout('g2', 'canceled', { code: 'canceled', message: 'canceled' })).toBe('generation g2 canceled');
    expect(endedWithout('g3', 'canceled', { code: 'canceled', message: 'canceled by its owner' })).toBe('generation g3 canceled: canceled by its owner');
  });

  it('when there is no error, then the status alone', () => {
    expect(endedWithout('g4', 'failed', null)).toBe('generation g4 failed');
  });
});
