import { PyException } from '../python/py-exception';

/** A CLIPTextEncode text containing this makes the prompt fail, so a test can provoke an error end to end. */
export const EXECUTION_ERROR_MARKER = '__sim_execution_error__';

const SAMPLER_TRACEBACK = [
  '  File "/opt/ComfyUI/execution.py", line 518, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n',
  '  File "/opt/ComfyUI/execution.py", line 329, in get_output_data\n    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n',
  '  File "/opt/ComfyUI/execution.py", line 291, in process_inputs\n    result = f(**inputs)\n',
  '  File "/opt/ComfyUI/nodes.py", line 1525, in sample\n    return common_ksampler(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise=denoise)\n',
  '  File "/opt/ComfyUI/comfy/sample.py", line 45, in sample\n    samples = sampler.sample(noise, positive, negative, cfg=cfg, latent_image=latent_image, start_step=start_step, last_step=last_step, force_full_denoise=force_full_denoise, denoise_mask=noise_mask, sigmas=sigmas, callback=callback, disable_pbar=disable_pbar, seed=seed)\n',
  '  File "/opt/ComfyUI/comfy/ops.py", line 110, in forward_comfy_cast_weights\n    return torch.nn.functional.linear(input, weight, bias)\n',
];

/** ComfyUI appends this to str(ex) when a node runs out of GPU memory. */
export const OOM_TIPS =
  'This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.';

/** A node failure: the exception plus the tips line ComfyUI adds to its message. */
export class NodeFailure extends Error {
  constructor(readonly exception: PyException, readonly tips = '') {
    super(exception.pyMessage);
  }
}

/** What `failNext` arms: an OOM by default, or an exception with the caller's message. */
export function simulatedFailure(message?: string, exceptionType?: string): NodeFailure {
  if (message === undefined) return new NodeFailure(new PyException(exceptionType ?? 'torch.OutOfMemoryError', 'Allocation on device ', SAMPLER_TRACEBACK), OOM_TIPS);
  return new NodeFailure(new PyException(exceptionType ?? 'RuntimeError', message, SAMPLER_TRACEBACK));
}

export function containsMarker(text: unknown): boolean {
  return typeof text === 'string' && text.includes(EXECUTION_ERROR_MARKER);
}
