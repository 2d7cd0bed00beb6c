import type { NodeEnvironment, NodeRegistry } from '../nodes/node-definition';
import { PyException } from '../python/py-exception';
import { pyFloatRepr, pyRepr, pyStr } from '../python/py-format';
import type { ApiPrompt, ValidationErrorItem } from '../types';
import { convertLiteralInPlace } from './convert-literal';
import { declaredInputs, inputInfo, typesCompatible } from './node-input-types';
import { INNER_VALIDATE_FRAME, LINK_LOOKUP_FRAME } from './validation-tracebacks';

export type ValidationResult = [valid: boolean, errors: ValidationErrorItem[], nodeId: string];

export interface ValidationState {
  prompt: ApiPrompt;
  env: NodeEnvironment;
  /** Insertion-ordered like the Python dict, which decides the order of node_errors. */
  validated: Map<string, ValidationResult>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** prompt[o_id]['class_type'] and RETURN_TYPES[index], raising what Python would raise. */
function linkedReturnType(prompt: ApiPrompt, nodes: NodeRegistry, link: unknown[]): string {
  const [sourceId, index] = link;
  if (typeof sourceId !== 'string' || !Object.prototype.hasOwnProperty.call(prompt, sourceId)) {
    const message = Array.isArray(sourceId) || isPlainObject(sourceId) ? `unhashable type: '${Array.isArray(sourceId) ? 'list' : 'dict'}'` : pyRepr(sourceId);
    throw new PyException(message.startsWith('unhashable') ? 'TypeError' : 'KeyError', message, [LINK_LOOKUP_FRAME]);
  }
  const returnTypes = nodes.get(prompt[sourceId].class_type)!.output;
  if (typeof index !== 'number' || !Number.isInteger(index)) {
    throw new PyException('TypeError', `tuple indices must be integers or slices, not ${typeof index === 'number' ? 'float' : typeof index === 'string' ? 'str' : 'NoneType'}`);
  }
  const resolved = index < 0 ? returnTypes.length + index : index;
  if (resolved < 0 || resolved >= returnTypes.length) throw new PyException('IndexError', 'tuple index out of range');
  return returnTypes[resolved];
}

function markCycle(state: ValidationState, visiting: string[], nodeId: string): ValidationResult {
  const pathNodes = [...visiting.slice(visiting.indexOf(nodeId)), nodeId];
  const cycleNodes = [...new Set(pathNodes)];
  const details = pathNodes.map((id) => `${id} (${state.prompt[id].class_type})`).join(' -> ');
  for (const id of cycleNodes) {
    state.validated.set(id, [false, [{ type: 'dependency_cycle', message: 'Dependency cycle detected', details, extra_info: { node_id: id, cycle_nodes: cycleNodes } }], id]);
  }
  return state.validated.get(nodeId)!;
}

/** execution.validate_inputs: checks one node and, through its links, everything upstream of it. */
export function validateInputs(state: ValidationState, nodeId: string, visiting: string[] = []): ValidationResult {
  const done = state.validated.get(nodeId);
  if (done) return done;
  if (visiting.includes(nodeId)) return markCycle(state, visiting, nodeId);

  const { prompt, env } = state;
  const inputs = prompt[nodeId].inputs;
  if (!isPlainObject(inputs)) throw new PyException('KeyError', "'inputs'", [LINK_LOOKUP_FRAME]);
  const classType = prompt[nodeId].class_type as string;
  const definition = env.nodes.get(classType)!;
  const types = definition.inputTypes(env);
  const customInputs = definition.customValidation?.inputs ?? [];
  const errors: ValidationErrorItem[] = [];
  let valid = true;

  for (const name of declaredInputs(types)) {
    const { type, category, extra } = inputInfo(types, name)!;
    if (!(name in inputs)) {
      if (category === 'required') {
        errors.push({ type: 'required_input_missing', message: 'Required input is missing', details: name, extra_info: { input_name: name } });
      }
      continue;
    }
    let value = inputs[name];
    const config = [type, extra];
    if (Array.isArray(value)) {
      if (value.length !== 2) {
        errors.push({
          type: 'bad_linked_input',
          message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
          details: name,
          extra_info: { input_name: name, input_config: config, received_value: value },
        });
        continue;
      }
      const receivedType = linkedReturnType(prompt, env.nodes, value);
      if (!typesCompatible(receivedType, type)) {
        errors.push({
          type: 'return_type_mismatch',
          message: 'Return type mismatch between linked nodes',
          details: `${name}, received_type(${receivedType}) mismatch input_type(${pyStr(type)})`,
          extra_info: { input_name: name, input_config: config, received_type: receivedType, linked_node: value },
        });
        continue;
      }
      const sourceId = value[0] as string;
      try {
        visiting.push(nodeId);
        let upstream: ValidationResult;
        try {
          upstream = validateInputs(state, sourceId, visiting);
        } finally {
          visiting.pop();
        }
        if (!upstream[0]) valid = false;
      } catch (error) {
        const ex = error instanceof PyException ? error : new PyException('Exception', String(error));
        valid = false;
        state.validated.set(sourceId, [
          false,
          [
            {
              type: 'exception_during_inner_validation',
              message: 'Exception when validating inner node',
              details: ex.pyMessage,
              extra_info: {
                input_name: name,
                input_config: config,
                exception_message: ex.pyMessage,
                exception_type: ex.pyType,
                traceback: [INNER_VALIDATE_FRAME, ...ex.traceback],
                linked_node: value,
              },
            },
          ],
          sourceId,
        ]);
      }
      continue;
    }

    try {
      value = convertLiteralInPlace(inputs, name, type);
    } catch (error) {
      value = inputs[name];
      const ex = error as PyException;
      errors.push({
        type: 'invalid_input_type',
        message: `Failed to convert an input value to a ${pyStr(type)} value`,
        details: `${name}, ${pyStr(value)}, ${ex.pyMessage}`,
        extra_info: { input_name: name, input_config: config, received_value: value, exception_message: ex.pyMessage },
      });
      continue;
    }

    if (customInputs.includes(name)) continue;
    const show = (n: unknown) => (type === 'FLOAT' && typeof n === 'number' ? pyFloatRepr(n) : pyStr(n));
    if (typeof extra.min === 'number' && (value as number) < extra.min) {
      errors.push({
        type: 'value_smaller_than_min',
        message: `Value ${show(value)} smaller than min of ${show(extra.min)}`,
        details: name,
        extra_info: { input_name: name, input_config: config, received_value: value },
      });
      continue;
    }
    if (typeof extra.max === 'number' && (value as number) > extra.max) {
      errors.push({
        type: 'value_bigger_than_max',
        message: `Value ${show(value)} bigger than max of ${show(extra.max)}`,
        details: name,
        extra_info: { input_name: name, input_config: config, received_value: value },
      });
      continue;
    }
    if (Array.isArray(type) || type === 'COMBO') {
      const options = (Array.isArray(type) ? type : (extra.options as unknown[] | undefined) ?? []) as unknown[];
      if (!options.includes(value)) {
        // ComfyUI leaves long lists out of the message (they are usually every model file on disk).
        const long = options.length > 20;
        errors.push({
          type: 'value_not_in_list',
          message: 'Value not in list',
          details: `${name}: ${pyRepr(value)} not in ${long ? `(list of length ${options.length})` : pyRepr(options)}`,
          extra_info: { input_name: name, input_config: long ? null : config, received_value: value },
        });
        continue;
      }
    }
  }

  if (definition.customValidation) {
    const present = definition.customValidation.inputs.filter((name) => name in inputs);
    if (present.length > 0) {
      const args = Object.fromEntries(present.map((name) => [name, Array.isArray(inputs[name]) ? null : inputs[name]]));
      const verdict = definition.customValidation.validate(args, env);
      if (verdict !== true) {
        for (const name of present) {
          errors.push({ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: `${name} - ${verdict}`, extra_info: { input_name: name } });
        }
      }
    }
  }

  const previous = state.validated.get(nodeId) ?? [true, [], nodeId];
  const result: ValidationResult = [previous[0] && valid && errors.length === 0, [...previous[1], ...errors.filter((e) => !previous[1].includes(e))], nodeId];
  state.validated.set(nodeId, result);
  return result;
}
