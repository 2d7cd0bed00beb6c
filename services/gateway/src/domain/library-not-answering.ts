/** Kept here for the gateway's imports: the error lives beside the library storage (packages/media), which packages/characters reads through too. */
export { LibraryNotAnsweringError } from '@anime/media';
