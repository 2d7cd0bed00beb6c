export { ComfyClient, type ComfyClientOptions } from './comfy-client';
export * from './errors';
export { MAX_FILE_ANSWER_BYTES, MAX_JSON_ANSWER_BYTES, MIN_FILE_BYTES_PER_S } from './http/comfy-http';
export type { ComfyMessage, ComfyMessageType } from './socket/comfy-message';
export type { SocketState } from './socket/comfy-socket';
export { comboOptions } from './models/combo-options';
export { endedWell, outputFiles, wasCached } from './run/read-history';
export { readableQueue } from './run/readable-queue';
export type {
  ApiPrompt,
  ClientIdLeases,
  ClientLogger,
  FollowOptions,
  HistoryEntry,
  OutputFile,
  ProgressEvent,
  QueueEntry,
  QueueState,
  ResumeOptions,
  RunOptions,
  RunResult,
  StatusMessage,
  SubmitOptions,
  SubmitResult,
  UploadResult,
} from './types';

// Names used by code written against the first version of this package.
export type { ApiPrompt as ApiWorkflow, ProgressEvent as Progress } from './types';
export type { ComfyMessage as WsMessage } from './socket/comfy-message';
export { outputFiles as outputFilesOf } from './run/read-history';
