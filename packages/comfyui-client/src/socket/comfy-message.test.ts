import { parseComfyMessage } from './comfy-message';

describe('parseComfyMessage', () => {
  it('when a frame is a known event, then it is parsed', () => {
    expect(parseComfyMessage('{"type": "progress", "data": {"value": 1, "max": 2, "prompt_id": "p", "node": "3"}}')).toEqual({
      type: 'progress',
      data: { value: 1, max: 2, prompt_id: 'p', node: '3' },
    });
  });

  it('when json.dumps wrote a NaN into a frame (an execution_error\'s inputs), then the frame is still parsed, the NaN as null', () => {
    const text = '{"type": "execution_error", "data": {"prompt_id": "p", "node_id": "3", "exception_message": "bad cfg", "current_inputs": {"cfg": [NaN]}}}';
    expect(parseComfyMessage(text)).toEqual({
      type: 'execution_error',
      data: { prompt_id: 'p', node_id: '3', exception_message: 'bad cfg', current_inputs: { cfg: [null] } },
    });
  });

  it.each([
    ['an unknown type', '{"type": "crystools.monitor", "data": {}}'],
    ['progress_state (every node\'s state; progress carries the tick)', '{"type":"progress_state","data":{"prompt_id":"p","nodes":{}}}'],
    ['bad JSON', '{"type": '],
    ['no data object', '{"type": "status", "data": 3}'],
    ['not an object', '"status"'],
  ])('when a frame has %s, then it is ignored', (_what, text) => {
    expect(parseComfyMessage(text)).toBeUndefined();
  });
});
