/** Plausible Python frames for exceptions raised while validating, shaped like the captured ones. */
export const LINK_LOOKUP_FRAME =
  '  File "/opt/ComfyUI/execution.py", line 818, in validate_inputs\n    o_class_type = prompt[o_id][\'class_type\']\n                   ~~~~~~^^^^^^\n';

export const VALIDATE_PROMPT_FRAME =
  '  File "/opt/ComfyUI/execution.py", line 1043, in validate_prompt\n    m = await validate_inputs(prompt_id, prompt, o, validated)\n        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n';

export const INNER_VALIDATE_FRAME =
  '  File "/opt/ComfyUI/execution.py", line 843, in validate_inputs\n    r = await validate_inputs(prompt_id, prompt, o_id, validated, visiting)\n        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n';
