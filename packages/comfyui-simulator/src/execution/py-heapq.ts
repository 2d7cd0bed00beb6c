/**
 * Python's heapq on a plain array, step for step (Lib/heapq.py; _heapq is the same algorithm in C), so
 * the array holds its items in the very order ComfyUI's PromptQueue.queue does: GET /queue shows that
 * list as it is, not sorted.
 */
export type Less<T> = (a: T, b: T) => boolean;

function siftDown<T>(heap: T[], startPos: number, pos: number, less: Less<T>): void {
  const item = heap[pos];
  while (pos > startPos) {
    const parentPos = (pos - 1) >> 1;
    const parent = heap[parentPos];
    if (!less(item, parent)) break;
    heap[pos] = parent;
    pos = parentPos;
  }
  heap[pos] = item;
}

/** _siftup: the smaller child climbs until a leaf is free, then the item sifts down from there. */
function siftUp<T>(heap: T[], pos: number, less: Less<T>): void {
  const endPos = heap.length;
  const startPos = pos;
  const item = heap[pos];
  let childPos = 2 * pos + 1;
  while (childPos < endPos) {
    const rightPos = childPos + 1;
    if (rightPos < endPos && !less(heap[childPos], heap[rightPos])) childPos = rightPos;
    heap[pos] = heap[childPos];
    pos = childPos;
    childPos = 2 * pos + 1;
  }
  heap[pos] = item;
  siftDown(heap, startPos, pos, less);
}

export function heappush<T>(heap: T[], item: T, less: Less<T>): void {
  heap.push(item);
  siftDown(heap, 0, heap.length - 1, less);
}

export function heappop<T>(heap: T[], less: Less<T>): T | undefined {
  const last = heap.pop();
  if (heap.length === 0) return last;
  const top = heap[0];
  heap[0] = last as T;
  siftUp(heap, 0, less);
  return top;
}

export function heapify<T>(heap: T[], less: Less<T>): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftUp(heap, i, less);
}

/** Python's str < str: by code point, where JavaScript's < compares UTF-16 code units. */
export function pyStrLess(a: string, b: string): boolean {
  if (a === b) return false;
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done) return !y.done;
    if (y.done) return false;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy;
  }
}
