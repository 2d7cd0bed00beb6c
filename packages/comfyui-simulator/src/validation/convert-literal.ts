import { pyBool, pyFloat, pyInt, pyStrConvert } from '../python/py-convert';
import { clearNumberMark, isMarkedInt, markedNumberText, markFloat, markNumber } from '../python/py-json-marks';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * validate_inputs' literal handling: unwrap {"__value__": x}, then int()/float()/str()/bool() by the
 * input's type, written back into the prompt. Python's float() makes `cfg: 7` the float 7.0, so
 * history, /queue and the PNG's prompt chunk show 7.0; int() makes `steps: 20.0` the int 20. The
 * kind is recorded beside the value (py-json-marks) for json.dumps. Throws what the conversion raises.
 */
export function convertLiteralInPlace(inputs: Record<string, unknown>, name: string, type: string | string[]): unknown {
  let value = inputs[name];
  if (isPlainObject(value) && '__value__' in value) {
    const wrapper = value;
    value = wrapper.__value__;
    inputs[name] = value;
    const text = typeof value === 'number' ? markedNumberText(wrapper, '__value__', value) : undefined;
    if (text !== undefined) markNumber(inputs, name, value as number, text);
  }
  if (type === 'INT') {
    const converted = pyInt(value);
    inputs[name] = converted;
    // int() of a float or a string gives a plain int; only an int literal too large for a double keeps its digits.
    if (!(converted === value && isMarkedInt(inputs, name, converted))) clearNumberMark(inputs, name);
    return converted;
  }
  if (type === 'FLOAT') {
    const converted = pyFloat(value);
    inputs[name] = converted;
    markFloat(inputs, name, converted);
    return converted;
  }
  if (type === 'STRING') inputs[name] = pyStrConvert(value);
  else if (type === 'BOOLEAN') inputs[name] = pyBool(value);
  return inputs[name];
}
