import { markFloat } from '../python/py-json-marks';
import type { HistoryEntry, QueueItem } from '../types';

/** The (number, prompt_id, prompt, extra_data, outputs_to_execute) tuple /queue and history show. */
export function queueTuple(item: QueueItem): HistoryEntry['prompt'] {
  const tuple: HistoryEntry['prompt'] = [item.number, item.promptId, item.prompt, item.extraData, item.outputs];
  if (item.numberIsFloat) markFloat(tuple, '0', item.number);
  return tuple;
}
