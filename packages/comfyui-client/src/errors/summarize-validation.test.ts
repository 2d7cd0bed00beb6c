import { summarizeValidation } from './summarize-validation';

describe('summarizeValidation', () => {
  it('when several nodes fail, then each appears with its class and every error', () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
      node_errors: {
        '4': { class_type: 'CheckpointLoaderSimple', errors: [{ message: 'Value not in list', details: "ckpt_name: 'x' not in (list of length 37)" }] },
        '5': { class_type: 'EmptyLatentImage', errors: [{ message: 'Value 0 smaller than min of 16', details: 'width' }, { message: 'Required input is missing', details: 'height' }] },
      },
    };
    expect(summarizeValidation(body)).toBe(
      "node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'x' not in (list of length 37); node 5 (EmptyLatentImage): Value 0 smaller than min of 16: width; Required input is missing: height",
    );
  });

  it('when details repeat the message (no_prompt), then the message stands alone', () => {
    expect(summarizeValidation({ error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided' }, node_errors: {} })).toBe('No prompt provided');
  });

  it('when node_errors hold null, text or numbers where ComfyUI has objects (a broken server), then what is there is summarized and nothing throws', () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
      node_errors: { '4': null, '5': 'oops', '6': { class_type: 'KSampler', errors: 'bad' }, '7': { class_type: 'EmptyImage', errors: [null, 5, { message: 'Required input is missing', details: 'color' }] } },
    };
    expect(summarizeValidation(body)).toBe('node 4 (unknown); node 5 (unknown); node 6 (KSampler); node 7 (EmptyImage): Required input is missing: color');
  });
});
