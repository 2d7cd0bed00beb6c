export * from './sniff-image';
export * from './library-storage';
export { sha256Hex } from './sha256';
export * from './remove-stale-partials';
export * from './stale-partial-sweep';
export * from './decode-image';
export * from './library-refusal';
export { makeFolder } from './make-folder';
export * from './library-not-answering';
