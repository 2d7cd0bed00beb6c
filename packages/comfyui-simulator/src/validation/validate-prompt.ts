import type { NodeEnvironment } from '../nodes/node-definition';
import { PyException } from '../python/py-exception';
import { pyStr } from '../python/py-format';
import { pyKeys } from '../python/py-json-marks';
import type { ApiPrompt, NodeErrors, ValidationErrorItem } from '../types';
import { validateInputs, type ValidationState } from './validate-inputs';
import { VALIDATE_PROMPT_FRAME } from './validation-tracebacks';

export type PromptValidation =
  | { ok: true; outputs: string[]; nodeErrors: NodeErrors }
  | { ok: false; error: ValidationErrorItem; nodeErrors: NodeErrors };

function invalidPrompt(message: string, nodeId: string): PromptValidation {
  return { ok: false, error: { type: 'invalid_prompt', message, details: `Node ID '#${nodeId}'`, extra_info: {} }, nodeErrors: {} };
}

/**
 * execution.validate_prompt as of the captured server: the prompt is queued if at least one output
 * node validates; literal inputs are converted in place (so history shows the converted values).
 */
export function validatePrompt(prompt: ApiPrompt, env: NodeEnvironment, partialTargets?: unknown): PromptValidation {
  const outputs: string[] = [];
  // `for x in prompt`: the posted order decides which bad node is reported first.
  for (const nodeId of pyKeys(prompt)) {
    const node = prompt[nodeId];
    if (typeof node !== 'object' || node === null || !('class_type' in node)) {
      return invalidPrompt('Cannot execute because a node is missing the class_type property.', nodeId);
    }
    const definition = typeof node.class_type === 'string' ? env.nodes.get(node.class_type) : undefined;
    if (!definition) return invalidPrompt(`Cannot execute because node ${pyStr(node.class_type)} does not exist.`, nodeId);
    if (definition.outputNode && (!Array.isArray(partialTargets) || partialTargets.includes(nodeId))) outputs.push(nodeId);
  }
  if (outputs.length === 0) {
    return { ok: false, error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, nodeErrors: {} };
  }

  const state: ValidationState = { prompt, env, validated: new Map() };
  const good: string[] = [];
  const failures: Array<[string, ValidationErrorItem[]]> = [];
  const nodeErrors: NodeErrors = {};
  for (const output of outputs) {
    let valid = false;
    let reasons: ValidationErrorItem[] = [];
    try {
      [valid, reasons] = validateInputs(state, output);
    } catch (error) {
      const ex = error instanceof PyException ? error : new PyException('Exception', String(error));
      reasons = [
        {
          type: 'exception_during_validation',
          message: 'Exception when validating node',
          details: ex.pyMessage,
          extra_info: { exception_type: ex.pyType, traceback: [VALIDATE_PROMPT_FRAME, ...ex.traceback] },
        },
      ];
      state.validated.set(output, [false, reasons, output]);
    }
    if (valid) {
      good.push(output);
      continue;
    }
    failures.push([output, reasons]);
    // Like ComfyUI, every failed node seen so far is charged to this output, and nodes that only
    // failed because something upstream did (no errors of their own) are left out.
    for (const [nodeId, [nodeValid, errors]] of state.validated) {
      if (nodeValid || errors.length === 0) continue;
      nodeErrors[nodeId] ??= { errors, dependent_outputs: [], class_type: prompt[nodeId].class_type };
      nodeErrors[nodeId].dependent_outputs.push(output);
    }
  }

  if (good.length === 0) {
    const details = failures.flatMap(([, errors]) => errors.map((e) => `${e.message}: ${e.details}`)).join('\n');
    return { ok: false, error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details, extra_info: {} }, nodeErrors };
  }
  return { ok: true, outputs: good, nodeErrors };
}
