import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Copies of the real ComfyUI captures from shared/, kept here so the package's tests stand alone. */
export const CAPTURES_DIR = join(__dirname, '..', 'fixtures', 'comfyui-captures');

export function capture<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(CAPTURES_DIR, name), 'utf8'));
}

export function captureBytes(name: string): Buffer {
  return readFileSync(join(CAPTURES_DIR, name));
}

/** The structure of a JSON value (keys and primitive types), so payloads can be compared without their values. */
export function shapeOf(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? ['empty'] : ['array', shapeOf(value[0])];
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((key) => [key, shapeOf((value as Record<string, unknown>)[key])]),
    );
  }
  return typeof value;
}
