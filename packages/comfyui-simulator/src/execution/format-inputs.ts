import { describeValue, isSimValue } from '../nodes/values';
import { pyStr } from '../python/py-format';

/** execution.format_value over input_data_all: primitives kept, anything else as its str(). */
export function formatCurrentInputs(inputData: Record<string, unknown>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [name, value] of Object.entries(inputData)) {
    if (value === null || value === undefined) out[name] = [null];
    else if (['string', 'number', 'boolean'].includes(typeof value)) out[name] = [value];
    else out[name] = [isSimValue(value) ? describeValue(value) : pyStr(value)];
  }
  return out;
}
