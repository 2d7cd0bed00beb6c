export { ComfyExecutionError } from './comfy-execution-error';
export { ComfyHttpError } from './comfy-http-error';
export { ComfyInterruptedError } from './comfy-interrupted-error';
export { ComfyPromptLostError } from './comfy-prompt-lost-error';
export { ComfyTransferError } from './comfy-transfer-error';
export { ComfyUnreachableError } from './comfy-unreachable-error';
export { ComfyValidationError } from './comfy-validation-error';
export { summarizeValidation } from './summarize-validation';
