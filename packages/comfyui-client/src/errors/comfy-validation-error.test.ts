import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ComfyValidationError } from './comfy-validation-error';

// Real ComfyUI answers, captured from a running server (copied from the project's shared notes).
const CAPTURES = path.resolve(__dirname, '..', '..', '..', 'comfyui-simulator', 'test', 'fixtures', 'comfyui-captures');
const capture = (name: string) => JSON.parse(readFileSync(path.join(CAPTURES, name), 'utf8')).json;

describe('ComfyValidationError', () => {
  it('when a node input is missing (real capture), then the summary names the node, its class and ComfyUI message', () => {
    const error = new ComfyValidationError(capture('21_missing_required_input_post_prompt_response.json'));
    expect(error.summary).toBe('node 1 (EmptyImage): Required input is missing: color');
    expect(error.type).toBe('prompt_outputs_failed_validation');
  });

  it('when a value is out of range (real capture), then the details follow the message', () => {
    expect(new ComfyValidationError(capture('22_value_out_of_range_post_prompt_response.json')).summary).toBe('node 1 (EmptyImage): Value 0 smaller than min of 1: width');
  });

  it('when the class does not exist (real capture), then the top-level message and details are used', () => {
    const error = new ComfyValidationError(capture('20_unknown_class_type_post_prompt_response.json'));
    expect(error.summary).toBe("Cannot execute because node NoSuchNode does not exist.: Node ID '#1'");
    expect(error.type).toBe('invalid_prompt');
  });

  it('when the body is the pre-2025 string form, then the string is the summary', () => {
    expect(new ComfyValidationError({ error: 'no prompt', node_errors: [] }).summary).toBe('no prompt');
  });
});
