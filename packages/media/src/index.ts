export * from './sniff-image';
export * from './library-storage';
export { sha256Hex } from './sha256';
export * from './remove-stale-partials';
export * from './decode-image';
