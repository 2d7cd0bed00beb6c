import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join, normalize, resolve } from 'node:path';
import { PyException } from '../python/py-exception';
import { commonPath } from './safe-paths';

export interface SaveImagePath {
  fullOutputFolder: string;
  filename: string;
  counter: number;
  subfolder: string;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function computeVars(prefix: string, width: number, height: number): string {
  const now = new Date();
  return prefix
    .replace(/%width%/g, String(width))
    .replace(/%height%/g, String(height))
    .replace(/%year%/g, String(now.getFullYear()))
    .replace(/%month%/g, pad(now.getMonth() + 1))
    .replace(/%day%/g, pad(now.getDate()))
    .replace(/%hour%/g, pad(now.getHours()))
    .replace(/%minute%/g, pad(now.getMinutes()))
    .replace(/%second%/g, pad(now.getSeconds()));
}

function normpath(path: string): string {
  const normal = normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

const TRACEBACK = [
  '  File "/opt/ComfyUI/execution.py", line 518, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n',
  '  File "/opt/ComfyUI/execution.py", line 329, in get_output_data\n    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n',
  '  File "/opt/ComfyUI/execution.py", line 303, in _async_map_node_over_list\n    await process_inputs(input_dict, i)\n',
  '  File "/opt/ComfyUI/execution.py", line 291, in process_inputs\n    result = f(**inputs)\n',
  '  File "/opt/ComfyUI/nodes.py", line 1607, in save_images\n    full_output_folder, filename, counter, subfolder, filename_prefix = folder_paths.get_save_image_path(filename_prefix, self.output_dir, images[0].shape[1], images[0].shape[0])\n',
  '  File "/opt/ComfyUI/folder_paths.py", line 464, in get_save_image_path\n    raise Exception(err)\n',
];

/** folder_paths.get_save_image_path: subfolder from the prefix, counter = 1 + highest file number already there. */
export function getSaveImagePath(filenamePrefix: string, outputDir: string, width: number, height: number): SaveImagePath {
  const prefix = filenamePrefix.includes('%') ? computeVars(filenamePrefix, width, height) : filenamePrefix;
  const normal = normpath(prefix);
  const subfolder = dirname(normal) === '.' ? '' : dirname(normal);
  const filename = basename(normal);
  const base = resolve(outputDir);
  const fullOutputFolder = join(base, subfolder);
  const common = commonPath(base, resolve(fullOutputFolder));
  if (common !== base) {
    const err =
      '**** ERROR: Saving image outside the output folder is not allowed.' +
      `\n full_output_folder: ${resolve(fullOutputFolder)}` +
      `\n         output_dir: ${base}` +
      `\n         commonpath: ${common}`;
    throw new PyException('Exception', err, TRACEBACK);
  }
  if (!existsSync(fullOutputFolder)) {
    mkdirSync(fullOutputFolder, { recursive: true });
    return { fullOutputFolder, filename, counter: 1, subfolder };
  }
  const prefixLength = basename(prefix).length;
  let highest = 0;
  for (const entry of readdirSync(fullOutputFolder)) {
    const head = entry.slice(0, prefixLength + 1);
    if (head.slice(0, -1) !== filename || !head.endsWith('_')) continue;
    const digits = entry.slice(prefixLength + 1).split('_')[0];
    highest = Math.max(highest, /^\d+$/.test(digits) ? Number(digits) : 0);
  }
  return { fullOutputFolder, filename, counter: highest + 1, subfolder };
}
