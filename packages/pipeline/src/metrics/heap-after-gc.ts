import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

let latestBytes = 0;
let majorCollections = 0;
let observer: PerformanceObserver | undefined;

/**
 * Starts, once per process, reading the V8 heap in use as each major (mark-compact) collection is
 * reported: what the process still holds once its garbage is gone. RSS follows the heap V8 reserves
 * between two such collections, which it sizes anew each time, so RSS can grow by a tenth with
 * nothing retained; this reading grows only with what is kept.
 */
export function watchMajorCollections(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    const major = list.getEntries().some((entry) => (entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major) return;
    latestBytes = getHeapStatistics().used_heap_size;
    majorCollections++;
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** The heap in use after the latest major collection, in bytes; 0 before the first. */
export const heapAfterMajorCollection = (): number => latestBytes;

/** How many major collections have been read since watchMajorCollections started (a reading is taken at each). */
export const majorCollectionsRead = (): number => majorCollections;
