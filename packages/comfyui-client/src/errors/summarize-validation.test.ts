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
});
