import { stat } from 'node:fs/promises';

/** Whether anything stands at `file`. */
export const fileExists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );
