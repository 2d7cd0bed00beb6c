export { ComfyClient, type ComfyClientOptions } from './comfy-client';
export { ComfyValidationError, summarizeValidation, type ComfyErrorBody } from './errors/comfy-validation-error';
export { ComfyExecutionError, type ExecutionErrorEvent } from './errors/comfy-execution-error';
export { ComfyInterruptedError } from './errors/comfy-interrupted-error';
export { ComfyUnreachableError } from './errors/comfy-unreachable-error';
export { ComfyPromptLostError } from './errors/comfy-prompt-lost-error';
export { outputFilesOf, wasCached } from './history-outputs';
export type * from './types';
